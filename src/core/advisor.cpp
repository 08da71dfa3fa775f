// The advisor (docs/model.md, "The advisor"). The rule of thumb stays the plan's first answer;
// the queueing model judges it against the service objective (rules advisor.objective, or
// --target): the smallest pool that meets the objective, and what the rule's extra connections
// buy at the load and at rules advisor.surge times it. When the first answer does not fit, fits
// only above the safe band or misses the objective, the alternatives are evaluated under the same
// model and budget and ranked:
//   model_pools                the model's pool plus the rules' overhead on each instance;
//   model_pools_less_overhead  the same with the overhead trimmed to what the budget leaves;
//   pgbouncer                  PgBouncer with a server pool the model sizes for the whole load;
//   raise_max_connections      the first answer on a server with a larger max_connections.
// Working options (fit, meet the objective, allowed by the rules) come first, those within the
// safe band before those above it, then by how much the user has to change (rank_cost) and by
// server connections. The plan becomes the best working option; when none works it stays the
// first answer (which does not fit: exit 3) and the reason names the option closest to working.

#include "poolcalc/numbers.hpp"
#include "poolcalc/sizing.hpp"

#include "pool_model.hpp"
#include "sizing_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

namespace poolcalc::detail {

namespace {

constexpr double k_infinity = std::numeric_limits<double>::infinity();

// The objective's figure of `m`, as text: "p99 wait 89.8 ms", "P(wait) 21.1 %".
std::string objective_figure(const QueueMetrics& m, const Target& objective)
{
  const double value = target_value(m, objective.metric);
  switch (objective.metric) {
  case Target::Metric::p_wait:
    return fmt::format("P(wait) {}", std::isfinite(value) ? share_text(value) : "100 %");
  case Target::Metric::timeout_rate:
    return fmt::format("timeouts {}", std::isfinite(value) ? share_text(value) : "100 %");
  case Target::Metric::mean_wait:
    return fmt::format("mean wait {}", wait_text(value));
  case Target::Metric::p95_wait:
    return fmt::format("p95 wait {}", wait_text(value));
  case Target::Metric::p99_wait:
    return fmt::format("p99 wait {}", wait_text(value));
  }
  return "";
}

// The search's upper end: a closed load never needs more connections than users; an open one
// cannot have more than PostgreSQL allows.
std::int64_t search_limit(const QueueingPlan& q)
{
  return q.model == QueueModel::closed ? std::min(q.closed.users, k_max_connections_limit) : k_max_connections_limit;
}

// The events each of the advisor's simulated pools gets even once its budget is spent: a
// sixty-fourth of rules queueing.simulation_max_events (about 30 ms on one core), long past the
// warm-up if not always within rules queueing.simulation_precision (heavy-tailed holds at 84 VUs:
// p99 77.6 +- 12.6 ms). Without it the search's later pools ran a few thousand events from an
// empty pool, and the waits printed for them came out a third of the settled figures. A run's
// advisor then spends at most its budget plus this much per pool it simulates.
std::int64_t advisor_min_events(const QueueingPlan& q)
{
  return q.simulation_max_events / 64;
}

// The same load times `factor`, spread over `instances`, on the advisor's simulation budget.
QueueingPlan scaled_load(const Plan& plan, double factor, std::int64_t instances, const std::shared_ptr<std::int64_t>& budget)
{
  Scenario s = plan.scenario;
  s.instances = instances;
  if (s.rps) {
    s.rps = std::min(*s.rps * factor, k_max_rps * 100.0);
  } else {
    s.vus = static_cast<std::int64_t>(std::ceil(static_cast<double>(s.vus) * factor));
  }
  QueueingPlan q = queueing_load(s, plan.queueing.hold_ms);
  q.simulation_events_left = budget;
  q.simulation_min_events = advisor_min_events(plan.queueing);
  return q;
}

std::string load_per_instance(const QueueingPlan& q)
{
  return q.model == QueueModel::closed ? fmt::format("{} VU{} per instance", q.closed.users, q.closed.users == 1 ? "" : "s")
                                       : fmt::format("{} queries/s per instance", format_number(q.open.arrival_rps, 3));
}

// The connections the load keeps busy on average: a closed load's users x hold / (hold + think),
// an open load's Erlangs. A pool at or below it carries less than the load: an open queue grows
// without bound, and a closed loop's users are slowed down to what the pool serves, which a
// wait objective alone does not see (every query waits a little, none long).
double offered_busy(const QueueingPlan& q)
{
  return q.model == QueueModel::closed
           ? round_decimal(static_cast<double>(q.closed.users) * q.closed.hold_s / (q.closed.hold_s + q.closed.think_s))
           : round_decimal(q.open.arrival_rps * q.open.hold_s);
}

// The smallest pool that meets the objective and carries the load.
std::optional<std::int64_t> smallest_serving_pool(const QueueingPlan& q, const Target& objective, double timeout_s, std::int64_t limit)
{
  const std::optional<std::int64_t> pool = smallest_pool_for(q, objective, timeout_s, limit);
  if (!pool) {
    return std::nullopt;
  }
  const auto floor = static_cast<std::int64_t>(std::floor(offered_busy(q))) + 1;
  return floor > limit && *pool < floor ? std::optional<std::int64_t>(limit) : std::max(*pool, floor);
}

void judge(AdvisorOption& o, const Target& objective, double safe_max, const QueueingPlan& load)
{
  o.utilization = o.max_connections > 0 ? static_cast<double>(o.server_connections) / static_cast<double>(o.max_connections) : k_infinity;
  o.within_safe_band = o.utilization <= safe_max + 1e-12;
  const double busy = offered_busy(load);
  const bool carries = o.waits_on > 0 && static_cast<double>(o.waits_on) > busy;
  // A simulation that ran out of its budget before its figures settled decides nothing.
  const bool settled = o.at_load && (!o.at_load->intervals || o.at_load->intervals->converged);
  const bool meets_figure = o.at_load && settled && meets(*o.at_load, objective);
  o.meets_objective = meets_figure && carries;
  const double budget_miss =
    o.fits ? 0.0 : (o.available > 0 ? static_cast<double>(o.server_connections) / static_cast<double>(o.available) - 1.0 : k_infinity);
  double objective_miss = 0;
  if (!o.meets_objective) {
    const double value = o.at_load ? target_value(*o.at_load, objective.metric) : k_infinity;
    objective_miss =
      o.at_load && o.at_load->stable && carries && std::isfinite(value) ? std::max(0.0, value / objective.bound - 1.0) : k_infinity;
  }
  o.miss = std::max(budget_miss, objective_miss);
  std::vector<std::string> parts;
  if (!o.fits) {
    parts.push_back(fmt::format("needs {} server connections, {} available", o.server_connections, o.available));
  }
  if (!carries) {
    parts.push_back(
      fmt::format("{} connection{} for a load that keeps {} busy", o.waits_on, o.waits_on == 1 ? "" : "s", format_number(busy, 1)));
  } else if (!settled) {
    parts.push_back("the simulation did not settle within the advisor's budget (a quarter of rules queueing.simulation_max_events)");
  } else if (!meets_figure && o.at_load) {
    parts.push_back(fmt::format("{} against {}", objective_figure(*o.at_load, objective), objective.text));
  }
  if (!o.offered) {
    parts.push_back(o.not_offered);
  }
  o.miss_text = fmt::format("{}", fmt::join(parts, "; "));
}

// "p99 wait 0 ms at the load, 48 of 50 server connections available"
std::string at_text(const AdvisorOption& o, const Target& objective)
{
  return fmt::format("{} at the load, using {} of the {} server connections available",
                     o.at_load ? objective_figure(*o.at_load, objective) : "no figure",
                     o.server_connections,
                     o.available);
}

bool works(const AdvisorOption& o)
{
  return o.offered && o.fits && o.meets_objective;
}

} // namespace

void advise(Plan& plan, const Rules& rules)
{
  Advice& a = plan.advice;
  const Scenario& s = plan.scenario;
  const double timeout_s = s.pool_timeout_s;
  a.objective = s.target ? *s.target : rules.advisor.objective;
  a.objective_source = s.target ? "--target" : "rules advisor.objective";
  a.given_max_connections = s.max_connections;
  a.surge = rules.advisor.surge;
  a.backend_memory_mib = rules.advisor.backend_memory_mib;
  if (s.db_cores) {
    a.db_ceiling = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::floor(static_cast<double>(*s.db_cores) * rules.advisor.active_per_core + 1e-9)));
  }
  // Past the ceiling, more queries at once add latency, not throughput: the model's waits, which
  // take hold times as the load's whatever the concurrency, are then too low.
  const auto judge_ceiling = [&a](AdvisorOption& o) { o.within_db_ceiling = !a.db_ceiling || o.server_connections <= *a.db_ceiling; };
  const std::string ceiling_text = a.db_ceiling ? fmt::format("the database's useful {} (--db-cores {} x rules advisor.active_per_core {})",
                                                              *a.db_ceiling,
                                                              s.db_cores.value_or(0),
                                                              format_number(rules.advisor.active_per_core))
                                                : std::string();
  // The advisor's simulations have a budget of their own, a quarter of rules
  // queueing.simulation_max_events (about half a second on one core), so the plan's figures
  // cannot starve them and a run stays bounded; they reuse the plan's simulated pools.
  QueueingPlan q = plan.queueing;
  q.simulation_events_left = std::make_shared<std::int64_t>(rules.queueing.simulation_max_events / 4);
  q.simulation_min_events = advisor_min_events(q);
  const auto scaled = [&](double factor, std::int64_t instances) { return scaled_load(plan, factor, instances, q.simulation_events_left); };

  // The verdict on the rule of thumb, per instance.
  a.rule_pool = plan.rule_of_thumb_pool;
  a.search_limit = search_limit(q);
  a.model_pool = smallest_serving_pool(q, a.objective, timeout_s, a.search_limit);
  a.rule_at_load = pool_metrics(q, a.rule_pool, timeout_s);
  if (a.model_pool) {
    a.model_at_load = pool_metrics(q, *a.model_pool, timeout_s);
  }
  // Twice the load: twice the VUs on each instance; a serverless platform starts twice the
  // executions instead, each still serving one request at a time.
  const QueueingPlan surged =
    s.serverless
      ? scaled(a.surge, std::min(k_max_instances, static_cast<std::int64_t>(std::ceil(static_cast<double>(s.instances) * a.surge - 1e-9))))
      : scaled(a.surge, s.instances);
  a.surge_load = load_per_instance(surged);
  a.rule_at_surge = pool_metrics(surged, a.rule_pool, timeout_s);
  if (a.model_pool) {
    a.model_at_surge = pool_metrics(surged, *a.model_pool, timeout_s);
  }

  // The plan's first answer: direct pools, or PgBouncer when a trigger applies. Through one shared
  // PgBouncer the whole load waits for its server pool; through sidecars each instance's load
  // waits for its own sidecar's.
  const bool through_pgbouncer = plan.pgbouncer.has_value();
  a.rule_through_pgbouncer = through_pgbouncer;
  const bool sidecar = s.topology == Topology::sidecar;
  const QueueingPlan whole = scaled(1.0, 1);
  const QueueingPlan& bouncer_load = sidecar ? q : whole;
  const auto server_pool_of = [](const PgBouncerPlan& b) { return b.pools.front().default_pool_size; };
  AdvisorOption first;
  // The plan's first answer: --serverless's pool per execution, --target's pool, or the rule of thumb's.
  first.id = s.serverless ? "serverless" : s.target ? "target" : "rule_of_thumb";
  const std::string first_name = s.serverless ? "the serverless pool" : s.target ? "--target's pool" : "the rule of thumb's pool";
  first.pgbouncer = through_pgbouncer;
  first.pool_per_instance = plan.pool_size;
  first.overhead = plan.overhead;
  // Direct pools are judged at their hardest moment: every instance the autoscaler may run.
  first.server_connections = hardest_connections(plan);
  first.max_connections = s.max_connections;
  first.available = plan.available;
  // Through PgBouncer the fit is its server connections within the budget: whether they serve the
  // load is the objective's question.
  first.fits = first.server_connections <= first.available;
  first.rank_cost = 0;
  if (through_pgbouncer) {
    first.waits_on = server_pool_of(*plan.pgbouncer);
    first.at_load = pool_metrics(bouncer_load, first.waits_on, timeout_s);
    first.summary = fmt::format("{} through PgBouncer: {} server connections",
                                first.id == "rule_of_thumb" ? std::string("the rule of thumb") : first_name,
                                first.server_connections);
  } else {
    first.waits_on = plan.pool_size;
    first.at_load = pool_metrics(q, plan.pool_size, timeout_s);
    first.summary = fmt::format("{} of {} per {}", first_name, plan.pool_size, s.serverless ? "execution" : "instance");
  }
  judge(first, a.objective, plan.safe_utilization_max, through_pgbouncer ? bouncer_load : q);
  judge_ceiling(first);
  if (works(first) && first.within_safe_band && first.within_db_ceiling) {
    return;
  }

  a.searched = true;
  a.first_id = first.id;
  const std::string at_max = s.max_instances <= s.instances || through_pgbouncer ? ""
                             : s.serverless                                      ? " at the platform's concurrency limit"
                                                                                 : " at the autoscaler's maximum";
  a.why_searched = !first.fits ? fmt::format("{} server connections{} > {} available", first.server_connections, at_max, first.available)
                   : !first.meets_objective ? first.miss_text
                   : !first.within_db_ceiling
                     ? fmt::format("{} server connections let as many queries run at once, past {}", first.server_connections, ceiling_text)
                     : fmt::format("{} of max_connections {} = {}, above the safe band's {}",
                                   first.server_connections,
                                   first.max_connections,
                                   format_percent(first.utilization),
                                   format_percent(plan.safe_utilization_max));
  a.options.push_back(first);

  const std::int64_t instances = s.instances;
  const std::int64_t worst_instances = s.max_instances; // every instance the autoscaler may run opens its pool
  const std::string triggers_apply = through_pgbouncer ? "PgBouncer's triggers apply (" + plan.recommendation_reason + ")" : "";
  const auto direct = [&](std::string id, std::int64_t pool, std::int64_t overhead, int cost) {
    AdvisorOption o;
    o.id = std::move(id);
    o.pool_per_instance = pool;
    o.overhead = overhead;
    o.server_connections = pool * worst_instances;
    o.max_connections = s.max_connections;
    o.available = plan.available;
    o.fits = o.server_connections <= o.available;
    o.waits_on = pool;
    o.at_load = pool_metrics(q, pool, timeout_s);
    o.rank_cost = cost;
    o.offered = !through_pgbouncer;
    o.not_offered = triggers_apply;
    return o;
  };
  // A serverless execution's pool is its one request's: no direct option sizes it otherwise.
  if (a.model_pool && !s.serverless) {
    const std::int64_t model = *a.model_pool;
    AdvisorOption o = direct("model_pools", model + s.overhead, s.overhead, 1);
    o.summary = fmt::format("the model's pools: {} per instance ({} + overhead {})", o.pool_per_instance, model, s.overhead);
    o.change = fmt::format("connection_limit {} on each instance", o.pool_per_instance);
    judge(o, a.objective, plan.safe_utilization_max, q);
    a.options.push_back(o);
    // The overhead gives way to the budget, never the model's pool.
    const std::int64_t share = std::max<std::int64_t>(0, plan.available) / worst_instances;
    if (!o.fits && s.overhead > 0 && share > model) {
      const std::int64_t pool = std::min(model + s.overhead, share);
      AdvisorOption trimmed = direct("model_pools_less_overhead", pool, pool - model, 2);
      trimmed.summary = fmt::format("the model's pools, less overhead: {} per instance ({} + overhead {})", pool, model, pool - model);
      trimmed.change = fmt::format("connection_limit {} on each instance; {} overhead connections per instance instead of {} for health "
                                   "checks, migrations and monitoring",
                                   pool,
                                   pool - model,
                                   s.overhead);
      judge(trimmed, a.objective, plan.safe_utilization_max, q);
      a.options.push_back(trimmed);
    }
  }

  // PgBouncer in transaction mode, its server pool sized by the model: for the whole load (one
  // shared PgBouncer) or for one instance's (a sidecar each). `max_connections` is the server's.
  const std::optional<std::int64_t> server_model =
    sidecar ? a.model_pool : smallest_serving_pool(whole, a.objective, timeout_s, search_limit(whole));
  const auto bouncer_option = [&](std::int64_t max_connections) {
    Plan candidate = plan;
    candidate.scenario.max_connections = max_connections;
    candidate.available = max_connections - plan.reserved_total;
    if (sidecar) {
      candidate.pool_size = *server_model + s.overhead;
      candidate.total_connections = candidate.pool_size * instances;
    } else {
      candidate.queueing.fleet_target_pool = server_model;
    }
    const PgBouncerPlan bouncer = plan_pgbouncer(candidate, rules);
    AdvisorOption o;
    o.pgbouncer = true;
    o.server_pool = *server_model;
    o.pool_per_instance = candidate.pool_size;
    o.overhead = plan.overhead;
    o.server_connections = bouncer.server_connections;
    o.max_connections = max_connections;
    o.available = candidate.available;
    o.waits_on = server_pool_of(bouncer);
    o.fits = o.server_connections <= o.available;
    o.at_load = pool_metrics(bouncer_load, o.waits_on, timeout_s);
    o.summary = fmt::format("PgBouncer in {} mode: default_pool_size {} + reserve_pool_size {}{}",
                            to_string(bouncer.pool_mode),
                            bouncer.pools.front().default_pool_size,
                            bouncer.pools.front().reserve_pool_size,
                            sidecar ? fmt::format(" on each of {} sidecars", bouncer.pgbouncers) : "");
    return o;
  };
  const std::string session_state = "transaction mode needs an application that keeps no session state across transactions";
  if (server_model) {
    AdvisorOption o = bouncer_option(s.max_connections);
    o.id = "pgbouncer";
    o.rank_cost = 3;
    o.change =
      fmt::format("run PgBouncer (poolcalc pgbouncer writes its pgbouncer.ini) and point the application at it; {}", session_state);
    judge(o, a.objective, plan.safe_utilization_max, bouncer_load);
    if (!o.meets_objective) {
      o.miss_text += fmt::format("; meeting it takes a server pool of {}{}", *server_model, sidecar ? " per sidecar" : "");
    }
    // Through PgBouncer already, squeezed into the same budget: the first answer itself.
    if (!through_pgbouncer || o.server_connections != first.server_connections) {
      a.options.push_back(o);
    } else if (!a.options.front().meets_objective) {
      a.options.front().miss_text += fmt::format("; meeting it takes a server pool of {}{}", *server_model, sidecar ? " per sidecar" : "");
    }
    // PgBouncer on a larger server, when the budget is what it misses by.
    if (!works(o)) {
      const AdvisorOption unlimited = bouncer_option(k_max_connections_limit);
      const std::int64_t wanted = unlimited.server_connections;
      const auto in_band = static_cast<std::int64_t>(std::ceil(static_cast<double>(wanted) / plan.safe_utilization_max - 1e-9));
      const std::int64_t raised =
        std::min(std::max({ wanted + plan.reserved_total, in_band, s.max_connections + 1 }), k_max_connections_limit);
      AdvisorOption r = bouncer_option(raised);
      r.id = "pgbouncer_raise_max_connections";
      r.rank_cost = 4;
      r.offered = raised <= rules.advisor.max_connections_max;
      r.not_offered =
        fmt::format("max_connections {} is past rules advisor.max_connections_max {}", raised, rules.advisor.max_connections_max);
      r.summary = fmt::format("max_connections {} instead of {}, with {}", raised, s.max_connections, r.summary);
      r.change =
        fmt::format("max_connections = {} in postgresql.conf (a restart), about {} MiB more server memory at {} MiB per "
                    "connection (rules advisor.backend_memory_mib); run PgBouncer; {}",
                    raised,
                    format_number(std::round(static_cast<double>(raised - s.max_connections) * rules.advisor.backend_memory_mib), 0),
                    format_number(rules.advisor.backend_memory_mib, 1),
                    session_state);
      judge(r, a.objective, plan.safe_utilization_max, bouncer_load);
      a.options.push_back(r);
    }
  }

  // A larger server for direct pools: the smallest max_connections that holds the model's pools
  // within the safe band, when they do not fit as it is.
  const bool model_fits = a.model_pool && (*a.model_pool + s.overhead) * worst_instances <= plan.available;
  if (!through_pgbouncer && !model_fits && !s.serverless) {
    const std::int64_t pool = a.model_pool ? *a.model_pool + s.overhead : plan.pool_size;
    const std::int64_t wanted = pool * worst_instances;
    const auto in_band = static_cast<std::int64_t>(std::ceil(static_cast<double>(wanted) / plan.safe_utilization_max - 1e-9));
    const std::int64_t raised =
      std::min(std::max({ wanted + plan.reserved_total, in_band, s.max_connections + 1 }), k_max_connections_limit);
    AdvisorOption o = direct("raise_max_connections", pool, a.model_pool ? s.overhead : plan.overhead, 4);
    o.max_connections = raised;
    o.available = raised - plan.reserved_total;
    o.fits = o.server_connections <= o.available;
    o.offered = raised <= rules.advisor.max_connections_max;
    o.not_offered = fmt::format(
      "max_connections {} is past rules advisor.max_connections_max {}: use a pooler instead", raised, rules.advisor.max_connections_max);
    const double memory = static_cast<double>(raised - s.max_connections) * rules.advisor.backend_memory_mib;
    o.summary = fmt::format("max_connections {} instead of {}, with {} pools of {} per instance",
                            raised,
                            s.max_connections,
                            a.model_pool ? "the model's" : "the first answer's",
                            pool);
    o.change = fmt::format("max_connections = {} in postgresql.conf (a restart), about {} MiB more server memory at {} MiB per connection "
                           "(rules advisor.backend_memory_mib); connection_limit {} on each instance",
                           raised,
                           format_number(std::round(memory), 0),
                           format_number(rules.advisor.backend_memory_mib, 1),
                           pool);
    judge(o, a.objective, plan.safe_utilization_max, q);
    a.options.push_back(o);
  }

  for (AdvisorOption& o : a.options) {
    judge_ceiling(o);
  }
  std::stable_sort(a.options.begin(), a.options.end(), [](const AdvisorOption& x, const AdvisorOption& y) {
    const bool wx = works(x);
    const bool wy = works(y);
    if (wx != wy) {
      return wx;
    }
    if (wx) {
      if (x.within_db_ceiling != y.within_db_ceiling) {
        return x.within_db_ceiling;
      }
      if (x.within_safe_band != y.within_safe_band) {
        return x.within_safe_band;
      }
      if (x.rank_cost != y.rank_cost) {
        return x.rank_cost < y.rank_cost;
      }
      return x.server_connections < y.server_connections;
    }
    if (x.offered != y.offered) {
      return x.offered;
    }
    return x.miss < y.miss;
  });

  const AdvisorOption& best = a.options.front();
  if (!works(best)) {
    a.reason = fmt::format("no option fits and meets {}; closest: {} ({})", a.objective.text, best.summary, best.miss_text);
    return;
  }
  a.chosen = 0;
  if (best.id == first.id) {
    a.reason = fmt::format("nothing works better than {} ({})", best.summary, a.why_searched);
    return;
  }
  a.reason = fmt::format("{}: {}{}{}",
                         best.summary,
                         at_text(best, a.objective),
                         best.within_safe_band ? "" : ", above the safe band (nothing within it works)",
                         best.within_db_ceiling ? "" : fmt::format(", past {} (nothing within it works)", ceiling_text));

  // The plan becomes the option.
  if (best.pgbouncer) {
    plan.scenario.max_connections = best.max_connections;
    if (sidecar) {
      plan.pool_size = best.pool_per_instance;
      plan.pool_size_unrounded = best.pool_per_instance;
      plan.total_connections = plan.pool_size * instances;
    } else {
      plan.queueing.fleet_target_pool = best.server_pool;
    }
    finish_plan(plan, rules, true);
  } else {
    plan.scenario.max_connections = best.max_connections;
    plan.pool_size = best.pool_per_instance;
    plan.pool_size_unrounded = best.pool_per_instance;
    plan.overhead = best.overhead;
    plan.total_connections = plan.pool_size * instances;
    finish_plan(plan, rules, false);
  }
  plan.queueing.recommended = pool_metrics(q, plan.pool_size, timeout_s);
  if (s.pools.empty()) {
    plan.queueing.pools = { *plan.queueing.recommended };
  }
  plan.recommendation_reason = plan.recommendation_reason.empty()
                                 ? fmt::format("the advisor's choice: {}", a.reason)
                                 : fmt::format("the advisor's choice: {}; {}", a.reason, plan.recommendation_reason);
}

} // namespace poolcalc::detail
