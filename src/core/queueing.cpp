#include "poolcalc/queueing.hpp"

#include "poolcalc/numbers.hpp"
#include "poolcalc/safe_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace poolcalc {

namespace {

constexpr double k_infinity = std::numeric_limits<double>::infinity();
// Probabilities below this share of the mode's are dropped: they cannot move any reported
// figure (all are rounded far above 1e-20).
constexpr double k_negligible = 1e-20;

// One step of the Erlang B recursion: B(k) from B(k - 1) for offered load a.
double erlang_b_step(double a, double previous, std::int64_t k)
{
  return a * previous / (static_cast<double>(k) + a * previous);
}

// Erlang C from Erlang B: C = c B / (c - a (1 - B)), for a < c.
double erlang_c_from_b(double a, std::int64_t servers, double b)
{
  const auto c = static_cast<double>(servers);
  return c * b / (c - a * (1.0 - b));
}

// P(Poisson(lambda) <= k) = Q(k + 1, lambda), the upper regularized incomplete gamma function,
// by its series or continued fraction (Numerical Recipes, 6.2), in log space.
double poisson_cdf(std::int64_t k, double lambda)
{
  if (lambda <= 0) {
    return 1.0;
  }
  const double a = static_cast<double>(k) + 1.0;
  const double log_prefix = -lambda + a * std::log(lambda) - std::lgamma(a);
  if (lambda < a + 1.0) {
    // Series for P(a, x); Q = 1 - P.
    double term = 1.0 / a;
    double sum = term;
    for (int n = 1; n < 100'000'000; ++n) {
      term *= lambda / (a + n);
      sum += term;
      if (term < sum * 1e-16) {
        break;
      }
    }
    return std::clamp(1.0 - sum * std::exp(log_prefix), 0.0, 1.0);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const double tiny = 1e-300;
  double b = lambda + 1.0 - a;
  double c = 1.0 / tiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < 100'000'000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < tiny) {
      d = tiny;
    }
    c = b + an / c;
    if (std::fabs(c) < tiny) {
      c = tiny;
    }
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < 1e-16) {
      break;
    }
  }
  return std::clamp(std::exp(log_prefix) * h, 0.0, 1.0);
}

// The closed model's stationary distribution of n, the number of users holding or waiting for
// a connection, over the window [low, low + p.size()) outside which it is negligible.
// p_n / p_(n-1) = (S / Z) (N - n + 1) / min(n, c) falls as n grows, so the distribution is
// unimodal: start at the mode with 1 and walk outward until the terms vanish.
struct ClosedDistribution
{
  std::int64_t low = 0;
  std::vector<double> p;
  std::vector<double> down; // scratch: the terms below the mode, outward
  std::int64_t high() const { return low + static_cast<std::int64_t>(p.size()) - 1; }
};

// Fills `d` (its vectors keep their memory from one pool of a curve to the next).
void closed_distribution(const ClosedLoad& load, std::int64_t pool, ClosedDistribution& d)
{
  const std::int64_t n_users = load.users;
  const double r = load.hold_s / load.think_s;
  const auto ratio = [&](std::int64_t n) { return r * static_cast<double>(n_users - n + 1) / static_cast<double>(std::min(n, pool)); };
  // The mode: the largest n with ratio(n) >= 1 (0 when even ratio(1) < 1).
  std::int64_t low = 1;
  std::int64_t high = n_users;
  std::int64_t mode = 0;
  while (low <= high) {
    const std::int64_t mid = low + (high - low) / 2;
    if (ratio(mid) >= 1.0) {
      mode = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  std::vector<double>& down = d.down; // p_(mode-1), p_(mode-2), ...
  down.clear();
  double value = 1.0;
  // p_(n-1) = p_n / ratio(n), as a product with 1 / ratio(n): the divisions then do not wait
  // on one another.
  const auto inverse_ratio = [&](std::int64_t n) {
    return static_cast<double>(std::min(n, pool)) / (r * static_cast<double>(n_users - n + 1));
  };
  for (std::int64_t n = mode; n >= 1; --n) {
    value *= inverse_ratio(n);
    if (value < k_negligible) {
      break;
    }
    down.push_back(value);
  }
  d.low = mode - static_cast<std::int64_t>(down.size());
  d.p.assign(down.rbegin(), down.rend());
  d.p.push_back(1.0);
  value = 1.0;
  for (std::int64_t n = mode + 1; n <= n_users; ++n) {
    value *= ratio(n);
    if (value < k_negligible) {
      break;
    }
    d.p.push_back(value);
  }
  double total = 0;
  for (double v : d.p) {
    total += v;
  }
  const double scale = 1.0 / total;
  for (double& v : d.p) {
    v *= scale;
  }
}

// What an arriving query sees (the arrival theorem: the distribution seen at arrivals is
// proportional to (N - n) p_n), restricted to n >= c, where it must wait.
struct ArrivalView
{
  std::int64_t first_waiting = 0; // the n of waiting[0]
  std::vector<double> waiting;    // a_n for n >= c
  std::vector<double> suffix;     // suffix[i] = waiting[i] + waiting[i + 1] + ...
  std::vector<double> inverse_k;  // 1 / (first_waiting - c + i): the Poisson recurrence without divisions
  double p_wait = 0;
};

// Fills `view`; `with_tail`: also the suffix sums and 1/k that tail_from_view needs (P(wait)
// alone needs neither).
void arrival_view(const ClosedDistribution& d, const ClosedLoad& load, std::int64_t pool, bool with_tail, ArrivalView& view)
{
  // The vectors keep their size until they are rewritten: resizing a cleared vector would zero
  // what is then overwritten.
  const auto users = static_cast<double>(load.users);
  double total = 0;
  double n = static_cast<double>(d.low);
  for (const double p : d.p) {
    total += (users - n) * p;
    n += 1.0;
  }
  const double scale = 1.0 / total;
  view.first_waiting = std::max(pool, d.low);
  const std::int64_t last = std::min(d.high(), load.users - 1);
  const auto count = static_cast<std::size_t>(std::max<std::int64_t>(0, last - view.first_waiting + 1));
  view.waiting.resize(count);
  const double* p = d.p.data() + (view.first_waiting - d.low);
  double p_wait = 0;
  n = static_cast<double>(view.first_waiting);
  for (std::size_t i = 0; i < count; ++i) {
    const double a = (users - n) * p[i] * scale;
    view.waiting[i] = a;
    p_wait += a;
    n += 1.0;
  }
  view.p_wait = p_wait;
  if (!with_tail) {
    view.inverse_k.clear();
    view.suffix.clear();
    return;
  }
  view.inverse_k.resize(count);
  const auto k0 = static_cast<double>(view.first_waiting - pool);
  for (std::size_t i = 0; i < count; ++i) {
    view.inverse_k[i] = 1.0 / (k0 + static_cast<double>(i));
  }
  if (count > 0 && k0 == 0) {
    view.inverse_k[0] = 0.0; // never read: the recurrence starts past k = 0
  }
  view.suffix.resize(count);
  double sum = 0;
  for (std::size_t i = count; i-- > 0;) {
    sum += view.waiting[i];
    view.suffix[i] = sum;
  }
}

// P(W > t) and its rate of fall: with n >= c ahead at arrival, the query waits for n - c + 1
// completions, each at rate mu = c / S: an Erlang(n - c + 1) time, and
// P(Erlang(k + 1, mu) > t) = P(Poisson(mu t) <= k), whose derivative in t is -mu pmf(k; mu t).
struct TailPoint
{
  double tail = 0; // P(W > t)
  double rate = 0; // -d P(W > t) / dt, per second (with_rate only)
};

template<bool with_rate>
TailPoint tail_from_view(const ArrivalView& view, const ClosedLoad& load, std::int64_t pool, double t_s)
{
  if (t_s <= 0) {
    return { view.p_wait, 0.0 };
  }
  if (view.waiting.empty()) {
    return { 0.0, 0.0 };
  }
  const double mu = static_cast<double>(pool) / load.hold_s;
  const double lambda = mu * t_s;
  std::int64_t k = view.first_waiting - pool;
  double cdf = poisson_cdf(k, lambda);
  // The Poisson terms pmf(k) = pmf(k - 1) lambda / k, from the first k where they do not
  // underflow (exp(-lambda) alone does past lambda ~ 745). Below the Poisson mode they rise
  // with k, so that first k is found by bisection on the closed form; past the mode an
  // underflowing term stays negligible.
  const double log_lambda = std::log(lambda);
  const auto log_pmf_at = [&](std::int64_t at) {
    return -lambda + static_cast<double>(at) * log_lambda - std::lgamma(static_cast<double>(at) + 1.0);
  };
  constexpr double k_smallest_log = -700.0;
  const std::int64_t k_end = k + static_cast<std::int64_t>(view.waiting.size()) - 1;
  std::int64_t k_live = k_end + 1; // none
  const double log_pmf_first = log_pmf_at(k);
  if (log_pmf_first > k_smallest_log) {
    k_live = k;
  } else if (static_cast<double>(k) < lambda) {
    std::int64_t low = k + 1;
    std::int64_t high = std::min(k_end, static_cast<std::int64_t>(lambda));
    if (low <= high && log_pmf_at(high) > k_smallest_log) {
      while (low < high) {
        const std::int64_t mid = low + (high - low) / 2;
        if (log_pmf_at(mid) > k_smallest_log) {
          high = mid;
        } else {
          low = mid + 1;
        }
      }
      k_live = high;
    }
  }
  // sum_i a_i cdf(k0 + i) = cdf(k0) sum_i a_i + sum_(j >= 1) pmf(k0 + j) sum_(i >= j) a_i: only the
  // terms that do not underflow cost anything. The rate is mu sum_i a_i pmf(k0 + i), over the
  // same terms.
  double tail = cdf * view.suffix[0];
  double rate = 0;
  const std::int64_t k0 = k;
  if constexpr (with_rate) {
    if (k_live == k0) {
      rate = std::exp(log_pmf_first) * view.waiting[0];
    }
  }
  if (k_live <= k_end) {
    // pmf(at) = pmf(at - 1) lambda / at, taken four terms at a time, each from the last term of the
    // four before (the running products of lambda / at do not wait on one another), into four
    // partial sums: the same terms, without a chain of dependent multiplications and additions.
    const double* inverse_k = view.inverse_k.data();
    const double* suffix = view.suffix.data();
    const double* waiting = view.waiting.data();
    std::int64_t at = std::max(k_live, k0 + 1);
    double pmf = std::exp(log_pmf_at(at));
    // Past the Poisson mode the rest is negligible.
    const auto negligible = [&](std::int64_t n, double term) { return static_cast<double>(n) > lambda && term < 1e-18; };
    std::array<double, 4> sum = {};
    std::array<double, 4> rates = {};
    const auto add = [&](std::size_t lane, std::size_t i, double term) {
      sum[lane] += term * suffix[i];
      if constexpr (with_rate) {
        rates[lane] += term * waiting[i];
      }
    };
    bool done = at > k_end;
    if (!done) {
      add(0, static_cast<std::size_t>(at - k0), pmf);
      done = negligible(at, pmf);
    }
    for (++at; !done && at + 3 <= k_end; at += 4) {
      const auto i = static_cast<std::size_t>(at - k0);
      const double m0 = lambda * inverse_k[i];
      const double m1 = m0 * (lambda * inverse_k[i + 1]);
      const double m2 = m1 * (lambda * inverse_k[i + 2]);
      const double m3 = m2 * (lambda * inverse_k[i + 3]);
      const std::array<double, 4> term = { pmf * m0, pmf * m1, pmf * m2, pmf * m3 };
      if (static_cast<double>(at + 3) > lambda &&
          (negligible(at, term[0]) || negligible(at + 1, term[1]) || negligible(at + 2, term[2]) || negligible(at + 3, term[3]))) {
        // The last four: up to the first negligible one, as one at a time would.
        for (std::size_t j = 0; j < 4; ++j) {
          add(j, i + j, term[j]);
          if (negligible(at + static_cast<std::int64_t>(j), term[j])) {
            break;
          }
        }
        done = true;
        break;
      }
      for (std::size_t j = 0; j < 4; ++j) {
        add(j, i + j, term[j]);
      }
      pmf = term[3];
    }
    for (; !done && at <= k_end; ++at) {
      const auto i = static_cast<std::size_t>(at - k0);
      pmf *= lambda * inverse_k[i];
      add(0, i, pmf);
      done = negligible(at, pmf);
    }
    tail += (sum[0] + sum[1]) + (sum[2] + sum[3]);
    rate += (rates[0] + rates[1]) + (rates[2] + rates[3]);
  }
  return { std::clamp(tail, 0.0, 1.0), mu * rate };
}

// The t with tail(t) = share, from a first guess: Newton's method on log tail(t) - log share,
// which is close to linear in t (the tail falls about exponentially), each step from one pass
// over the terms that gives the tail and its rate of fall together. The root stays inside a
// bracket [low, high] with tail(low) > share > tail(high); a step that would leave it halves the
// bracket instead (or doubles t while there is no upper end yet). Stops once a step moves t by
// less than a relative 1e-7: Newton's error then falls with the square of the step, so the
// answer is good to about 1e-12, far below any printed digit.
template<typename TailAndRate>
double wait_percentile(const TailAndRate& tail_and_rate, double p_wait, double share, double guess_s)
{
  if (p_wait <= share) {
    return 0.0;
  }
  double low = 0;
  double high = k_infinity;
  double t = guess_s;
  const double log_share = std::log(share);
  for (int i = 0; i < 400; ++i) {
    const TailPoint point = tail_and_rate(t);
    if (point.tail == share) {
      return t;
    }
    if (point.tail > share) {
      low = t;
    } else {
      high = t;
    }
    double next = std::numeric_limits<double>::quiet_NaN();
    if (point.tail > 0 && point.rate > 0) {
      next = t + (std::log(point.tail) - log_share) * point.tail / point.rate;
    }
    if (!(next > low && next < high)) {
      next = std::isfinite(high) ? low + (high - low) / 2 : 2 * t;
    }
    if (std::fabs(next - t) <= 1e-7 * next || (std::isfinite(high) && high - low <= 1e-12 * high)) {
      return next;
    }
    t = next;
  }
  return t;
}

} // namespace

std::string_view to_string(QueueModel model)
{
  return model == QueueModel::closed ? "closed" : "open";
}

double erlang_b(double erlangs, std::int64_t servers)
{
  if (servers > 100'000) {
    // B(a, c) = P(X = c) / P(X <= c) for X ~ Poisson(a): O(sqrt(c)) instead of O(c) steps.
    const auto c = static_cast<double>(servers);
    const double log_pmf = -erlangs + c * std::log(erlangs) - std::lgamma(c + 1.0);
    const double cdf = poisson_cdf(servers, erlangs);
    return cdf > 0 ? std::min(1.0, std::exp(log_pmf) / cdf) : 1.0;
  }
  double b = 1.0;
  for (std::int64_t k = 1; k <= servers; ++k) {
    b = erlang_b_step(erlangs, b, k);
    if (b < 1e-300 && static_cast<double>(k) > erlangs) {
      return 0.0; // it only falls further
    }
  }
  return b;
}

double erlang_c(double erlangs, std::int64_t servers)
{
  const auto c = static_cast<double>(servers);
  if (erlangs >= c) {
    return 1.0;
  }
  const double b = erlang_b(erlangs, servers);
  return erlang_c_from_b(erlangs, servers, b);
}

namespace {

// What one pool's closed metrics need in memory, kept from one pool of a curve to the next.
struct ClosedWorkspace
{
  ClosedDistribution distribution;
  ArrivalView view;
  double p95_ratio = 0; // the last pool's p95 wait over the mean wait of those who wait (0: none)
  double p99_ratio = 0;
};

QueueMetrics closed_metrics(const ClosedLoad& load, std::int64_t pool, double timeout_s, bool percentiles, ClosedWorkspace& work)
{
  QueueMetrics m;
  m.pool = pool;
  m.model = QueueModel::closed;
  ClosedDistribution& d = work.distribution;
  closed_distribution(load, pool, d);
  // Below the pool every user holds a connection; from the pool on, pool hold and n - pool wait.
  double busy = 0;
  double queued = 0;
  const std::size_t split = static_cast<std::size_t>(std::clamp<std::int64_t>(pool - d.low, 0, static_cast<std::int64_t>(d.p.size())));
  double n = static_cast<double>(d.low);
  for (std::size_t i = 0; i < split; ++i) {
    busy += n * d.p[i];
    n += 1.0;
  }
  const auto c = static_cast<double>(pool);
  double held = 0;
  for (std::size_t i = split; i < d.p.size(); ++i) {
    held += d.p[i];
    queued += (n - c) * d.p[i];
    n += 1.0;
  }
  busy += c * held;
  m.throughput_rps = busy / load.hold_s;
  m.utilization = busy / static_cast<double>(pool);
  m.mean_wait_ms = m.throughput_rps > 0 ? queued / m.throughput_rps * 1000.0 : 0.0; // Little's law on the queue
  const ArrivalView& view = work.view;
  arrival_view(d, load, pool, percentiles || timeout_s > 0, work.view);
  m.p_wait = std::clamp(view.p_wait, 0.0, 1.0);
  if (percentiles) {
    const auto tail_and_rate = [&](double t) { return tail_from_view<true>(view, load, pool, t); };
    // The first guess: the percentile's ratio to the mean wait of those who wait, as the last
    // pool of a curve had it (the ratio moves little from one pool to the next), else an
    // exponential tail's with the same P(wait) and mean wait.
    const double conditional_s = m.p_wait > 0 ? m.mean_wait_ms / 1000.0 / m.p_wait : load.hold_s;
    const auto percentile = [&](double share, double& ratio) {
      const double guess = ratio > 0 ? conditional_s * ratio : conditional_s * std::log(m.p_wait / share);
      const double t = wait_percentile(tail_and_rate, m.p_wait, share, std::max(1e-9, guess));
      ratio = t > 0 && conditional_s > 0 ? t / conditional_s : 0.0;
      return t * 1000.0;
    };
    m.p95_wait_ms = percentile(0.05, work.p95_ratio);
    m.p99_wait_ms = percentile(0.01, work.p99_ratio);
  } else {
    m.p95_wait_ms = m.p99_wait_ms = std::numeric_limits<double>::quiet_NaN();
  }
  m.timeout_rate = timeout_s > 0 ? tail_from_view<false>(view, load, pool, timeout_s).tail : 0.0;
  return m;
}

} // namespace

double closed_wait_tail(const ClosedLoad& load, std::int64_t pool, double t_s)
{
  ClosedDistribution d;
  closed_distribution(load, pool, d);
  ArrivalView view;
  arrival_view(d, load, pool, true, view);
  return tail_from_view<false>(view, load, pool, t_s).tail;
}

QueueMetrics closed_metrics(const ClosedLoad& load, std::int64_t pool, double timeout_s, bool percentiles)
{
  ClosedWorkspace work;
  return closed_metrics(load, pool, timeout_s, percentiles, work);
}

std::vector<QueueMetrics> closed_curve(const ClosedLoad& load, const std::vector<std::int64_t>& pools, double timeout_s)
{
  std::vector<QueueMetrics> result;
  result.reserve(pools.size());
  ClosedWorkspace work;
  for (std::int64_t pool : pools) {
    result.push_back(closed_metrics(load, pool, timeout_s, true, work));
  }
  return result;
}

namespace {

// Open model metrics from Erlang B for this pool (so a sweep over pools can carry B along).
QueueMetrics open_metrics_from_b(const OpenLoad& load, std::int64_t pool, double blocking, double timeout_s)
{
  QueueMetrics m;
  m.pool = pool;
  m.model = QueueModel::open;
  const double a = load.arrival_rps * load.hold_s;
  const auto c = static_cast<double>(pool);
  if (a >= c) {
    // Overloaded: the queue grows without bound; the pool serves at most c / S.
    m.stable = false;
    m.throughput_rps = c / load.hold_s;
    m.utilization = 1.0;
    m.p_wait = 1.0;
    m.mean_wait_ms = m.p95_wait_ms = m.p99_wait_ms = k_infinity;
    m.timeout_rate = timeout_s > 0 ? 1.0 - c / a : 0.0; // at least the share that cannot be served
    return m;
  }
  // Allen-Cunneen: Wq(M/G/c) ~ Wq(M/M/c) x (ca^2 + cs^2) / 2 with Poisson arrivals (ca^2 = 1).
  const double scale = (1.0 + load.hold_cv2) / 2.0;
  const double waiting = erlang_c_from_b(a, pool, blocking);
  const double rate = (c - a) / (load.hold_s * scale); // of the exponential tail
  m.throughput_rps = load.arrival_rps;
  m.utilization = a / c;
  m.p_wait = waiting;
  m.mean_wait_ms = waiting / rate * 1000.0;
  const auto percentile = [&](double share) { return waiting <= share ? 0.0 : std::log(waiting / share) / rate * 1000.0; };
  m.p95_wait_ms = percentile(0.05);
  m.p99_wait_ms = percentile(0.01);
  m.timeout_rate = timeout_s > 0 ? waiting * std::exp(-rate * timeout_s) : 0.0;
  return m;
}

} // namespace

QueueMetrics open_metrics(const OpenLoad& load, std::int64_t pool, double timeout_s)
{
  return open_metrics_from_b(load, pool, erlang_b(load.arrival_rps * load.hold_s, pool), timeout_s);
}

std::vector<QueueMetrics> open_curve(const OpenLoad& load, const std::vector<std::int64_t>& pools, double timeout_s)
{
  std::vector<QueueMetrics> result;
  const double a = load.arrival_rps * load.hold_s;
  double b = 1.0;
  std::int64_t k = 0;
  for (std::int64_t pool : pools) {
    for (; k < pool; ++k) {
      b = erlang_b_step(a, b, k + 1);
    }
    result.push_back(open_metrics_from_b(load, pool, b, timeout_s));
  }
  return result;
}

std::optional<std::int64_t> open_smallest_pool(const OpenLoad& load, const Target& target, double timeout_s, std::int64_t limit)
{
  // One pass up the Erlang B recursion: each pool's metrics cost O(1) given the previous one's B.
  const double a = load.arrival_rps * load.hold_s;
  double b = 1.0;
  for (std::int64_t pool = 1; pool <= limit; ++pool) {
    b = erlang_b_step(a, b, pool);
    if (static_cast<double>(pool) > a && meets(open_metrics_from_b(load, pool, b, timeout_s), target)) {
      return pool;
    }
  }
  return std::nullopt;
}

poolcalc::expected<Target, std::string> parse_target(std::string_view text)
{
  const auto error = [&] {
    return poolcalc::unexpected(fmt::format("expected METRIC<VALUE: p99_wait<50ms, p95_wait<0.2s, mean_wait<10ms, p_wait<0.05 "
                                            "(or <5%), timeout_rate<0.001; got '{}'",
                                            user_text(text)));
  };
  const std::size_t less = text.find('<');
  if (less == std::string_view::npos) {
    return error();
  }
  Target target;
  target.text = std::string(text);
  const std::string_view name = text.substr(0, less);
  std::string_view value = text.substr(less + 1);
  bool is_time = true;
  if (name == "p_wait") {
    target.metric = Target::Metric::p_wait;
    is_time = false;
  } else if (name == "timeout_rate") {
    target.metric = Target::Metric::timeout_rate;
    is_time = false;
  } else if (name == "mean_wait") {
    target.metric = Target::Metric::mean_wait;
  } else if (name == "p95_wait") {
    target.metric = Target::Metric::p95_wait;
  } else if (name == "p99_wait") {
    target.metric = Target::Metric::p99_wait;
  } else {
    return error();
  }
  double factor = 1.0;
  if (is_time && value.ends_with("ms")) {
    value.remove_suffix(2);
  } else if (is_time && value.ends_with("s")) {
    value.remove_suffix(1);
    factor = 1000.0;
  } else if (!is_time && value.ends_with("%")) {
    value.remove_suffix(1);
    factor = 0.01;
  } else if (is_time) {
    return error();
  }
  auto number = parse_number(value, -1e12, 1e12); // the range is checked below, with its own message
  if (!number) {
    return error();
  }
  target.bound = *number * factor;
  // Waits from a microsecond to an hour (in ms); shares from one in a million to 1.
  if (is_time && (target.bound < k_min_target_wait_ms || target.bound > k_max_target_wait_ms)) {
    return poolcalc::unexpected(fmt::format("expected a wait from 0.001 ms to 3600 s, got '{}'", user_text(text)));
  }
  if (!is_time && (target.bound < k_min_target_share || target.bound > 1.0)) {
    return poolcalc::unexpected(fmt::format("expected a share from 0.000001 to 1 (0.0001% to 100%), got '{}'", user_text(text)));
  }
  return target;
}

double target_value(const QueueMetrics& m, Target::Metric metric)
{
  switch (metric) {
  case Target::Metric::p_wait:
    return m.p_wait;
  case Target::Metric::mean_wait:
    return m.mean_wait_ms;
  case Target::Metric::p95_wait:
    return m.p95_wait_ms;
  case Target::Metric::p99_wait:
    return m.p99_wait_ms;
  case Target::Metric::timeout_rate:
    return m.timeout_rate;
  }
  return k_infinity;
}

bool needs_percentiles(const Target& target)
{
  return target.metric == Target::Metric::p95_wait || target.metric == Target::Metric::p99_wait;
}

bool meets(const QueueMetrics& m, const Target& target)
{
  return m.stable && target_value(m, target.metric) < target.bound;
}

std::optional<std::int64_t> smallest_pool(const std::function<QueueMetrics(std::int64_t)>& evaluate,
                                          const Target& target,
                                          std::int64_t low,
                                          std::int64_t high)
{
  if (low > high || !meets(evaluate(high), target)) {
    return std::nullopt;
  }
  while (low < high) {
    const std::int64_t mid = low + (high - low) / 2;
    if (meets(evaluate(mid), target)) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  return high;
}

} // namespace poolcalc
