# Writes the completion script `poolcalc completion SHELL_NAME` prints to OUTPUT; fails the build
# when the command fails or prints nothing. Run by the build (CMakeLists.txt):
#   cmake -DPOOLCALC=path/to/poolcalc -DSHELL_NAME=bash -DOUTPUT=file -P poolcalc-completion.cmake
foreach(variable POOLCALC SHELL_NAME OUTPUT)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "poolcalc-completion.cmake: -D${variable}=... is required")
  endif()
endforeach()
get_filename_component(directory ${OUTPUT} DIRECTORY)
file(MAKE_DIRECTORY ${directory})
execute_process(COMMAND ${POOLCALC} completion ${SHELL_NAME}
                OUTPUT_FILE ${OUTPUT}.tmp
                ERROR_VARIABLE errors
                RESULT_VARIABLE result)
if(EXISTS ${OUTPUT}.tmp)
  file(SIZE ${OUTPUT}.tmp size)
else()
  set(size 0)
endif()
if(NOT result EQUAL 0 OR size EQUAL 0)
  file(REMOVE ${OUTPUT}.tmp)
  message(FATAL_ERROR "'poolcalc completion ${SHELL_NAME}' failed (exit ${result}, ${size} bytes on stdout): ${errors}")
endif()
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
