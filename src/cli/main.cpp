#include "run.hpp"

#include <iostream>

int main(int argc, char** argv)
{
  return poolcalc::cli::run(argc, argv, std::cout, std::cerr, poolcalc::cli::process_environment());
}
