// One replication of the pool simulation (include/poolcalc/simulate.hpp): a discrete-event loop
// over a 4-ary heap of 16-byte events, with FIFO queues as ring buffers and no allocation per
// event once the buffers have grown to the run's largest queue.
//
// PgBouncer's part follows PgBouncer 1.18's source (github.com/pgbouncer/pgbouncer, tag
// pgbouncer_1_18_0): src/objects.c launch_new_connection (one connection attempt at a time per
// pool; up to pool_size, then up to pool_size + reserve_pool_size once the first waiting client has
// waited reserve_pool_timeout; then max_db_connections and max_user_connections, each first trying
// to make room by eviction), evict_connection and evict_user_connection (close the idle server that
// has been idle longest among the database's or user's pools, a later pool winning a tie), and
// src/janitor.c per_loop_activate (each loop, a pool with waiting clients and no idle server asks
// for a new connection). Not modelled: server_idle_timeout and server_lifetime (connections above
// pool_size stay open for the run), min_pool_size, the janitor's timer granularity (timeouts act
// at their exact time), cancel requests.

#include "simulate_detail.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

namespace poolcalc::sim_detail {

namespace {

// A FIFO (and, for idle servers, a stack at the front) in a power-of-two circular buffer.
template<class T>
class Ring
{
public:
  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }
  T& front() { return buf_[head_]; }
  T& back() { return buf_[(head_ + count_ - 1) & (buf_.size() - 1)]; }
  T& at(std::size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }
  void push_back(T v)
  {
    grow();
    buf_[(head_ + count_) & (buf_.size() - 1)] = v;
    ++count_;
  }
  void push_front(T v)
  {
    grow();
    head_ = (head_ + buf_.size() - 1) & (buf_.size() - 1);
    buf_[head_] = v;
    ++count_;
  }
  T pop_front()
  {
    T v = buf_[head_];
    head_ = (head_ + 1) & (buf_.size() - 1);
    --count_;
    return v;
  }
  T pop_back()
  {
    --count_;
    return buf_[(head_ + count_) & (buf_.size() - 1)];
  }

private:
  void grow()
  {
    if (count_ < buf_.size()) {
      return;
    }
    std::vector<T> bigger(std::max<std::size_t>(8, buf_.size() * 2));
    for (std::size_t i = 0; i < count_; ++i) {
      bigger[i] = at(i);
    }
    buf_ = std::move(bigger);
    head_ = 0;
  }
  std::vector<T> buf_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

enum EventType : std::uint64_t
{
  e_think_end,     // id: a closed user
  e_open_arrival,  // id: an open group
  e_hold_end,      // id: a query
  e_client_timer,  // id: an instance (its oldest waiter's pool_timeout)
  e_wait_timer,    // id: a PgBouncer pool (its oldest waiter's query_wait_timeout)
  e_reserve_timer, // id: a PgBouncer pool (its oldest waiter reaching reserve_pool_timeout)
  e_connect_done,  // id: a PgBouncer pool
};

// Ordered by time, then by type and id: a total order, so the run does not depend on the heap.
struct Event
{
  double t;
  std::uint64_t key; // type << 32 | id
  bool operator<(const Event& o) const { return t < o.t || (t == o.t && key < o.key); }
};

// A 4-ary min-heap: half the levels of a binary heap, and a node's children share a cache line.
class EventHeap
{
public:
  bool empty() const { return v_.empty(); }
  void push(double t, EventType type, std::uint32_t id)
  {
    const Event e{ t, (static_cast<std::uint64_t>(type) << 32) | id };
    std::size_t i = v_.size();
    v_.push_back(e);
    while (i > 0) {
      const std::size_t parent = (i - 1) / 4;
      if (!(e < v_[parent])) {
        break;
      }
      v_[i] = v_[parent];
      i = parent;
    }
    v_[i] = e;
  }
  Event pop()
  {
    const Event out = v_.front();
    const Event last = v_.back();
    v_.pop_back();
    const std::size_t n = v_.size();
    if (n == 0) {
      return out;
    }
    std::size_t i = 0;
    for (;;) {
      const std::size_t first = 4 * i + 1;
      if (first >= n) {
        break;
      }
      std::size_t best = first;
      const std::size_t end = std::min(first + 4, n);
      for (std::size_t c = first + 1; c < end; ++c) {
        if (v_[c] < v_[best]) {
          best = c;
        }
      }
      if (!(v_[best] < last)) {
        break;
      }
      v_[i] = v_[best];
      i = best;
    }
    v_[i] = last;
    return out;
  }

private:
  std::vector<Event> v_;
};

struct Query
{
  double arrival = 0;   // when it asked for a client connection
  double enter_pgb = 0; // when it asked PgBouncer for a server connection
  std::uint32_t group = 0;
  std::uint32_t instance = 0; // global instance index
};

struct GroupState
{
  GroupState(const Sampler& think_sampler, const Sampler& hold_sampler)
    : think(think_sampler)
    , hold(hold_sampler)
  {
  }
  Sampler think;
  Sampler hold;
  std::int64_t pool = 0;
  double pool_timeout = 0;
  int server_pool = -1;
  std::uint32_t first_instance = 0;
  std::uint32_t instances = 0;
  double open_rate = 0; // arrivals per second over all instances
  bool closed = false;
  // Measurement.
  std::int64_t busy = 0; // client connections held (servers held without a client pool)
  double busy_since = 0;
  double busy_area = 0;
  double capacity = 0;
  std::int64_t served = 0;
  std::int64_t abandoned = 0;
  std::int64_t zero_waits = 0;
  double wait_sum = 0;
  std::vector<double> waits; // the positive ones
};

struct InstanceState
{
  std::int64_t free = 0;
  Ring<std::uint32_t> waiters;
  bool timer = false;
};

struct ServerPoolState
{
  std::int64_t pool_size = 0;
  std::int64_t reserve = 0;
  std::uint32_t db = 0;
  std::uint32_t user = 0;
  std::int64_t servers = 0; // open or opening
  bool connecting = false;
  bool blocked = false; // its last attempt stopped at max_db_connections or max_user_connections
  Ring<double> idle;    // idle servers' idle-since times, the most recently used at the front
  Ring<std::uint32_t> waiters;
  bool wait_timer = false;
  bool reserve_timer = false;
  // Measurement: server connections holding a query.
  std::int64_t busy = 0;
  double busy_since = 0;
  double busy_area = 0;
};

class Engine
{
public:
  Engine(const Plan& plan, std::uint64_t seed, std::uint64_t replication, std::vector<std::vector<double>>& buffers);
  ReplicationOutcome run();
  // The wait buffers back to `buffers`, emptied but keeping their memory for the next replication.
  void give_back(std::vector<std::vector<double>>& buffers);

private:
  void setup_groups();
  void setup_pgbouncer();
  void start_measuring();
  void dispatch(const Event& e);
  void set_busy(GroupState& g, std::int64_t delta);
  void set_busy(ServerPoolState& p, std::int64_t delta);
  void record(GroupState& g, double wait, bool served);
  void start_query(std::uint32_t q);
  void got_client(std::uint32_t q);
  void ask_server(std::uint32_t q);
  void start_hold(std::uint32_t q);
  void hold_end(std::uint32_t q);
  void release_client(std::uint32_t q);
  void release_server(ServerPoolState& p);
  void finish_query(std::uint32_t q);
  void open_arrival(std::uint32_t group);
  void client_timer(std::uint32_t instance);
  void wait_timer(std::uint32_t pool);
  void reserve_timer(std::uint32_t pool);
  void connect_done(std::uint32_t pool);
  void pool_activity(std::uint32_t pool);
  void schedule_reserve_timer(std::uint32_t pool);
  void launch_new_connection(std::uint32_t pool);
  bool evict(bool by_db, std::uint32_t which);
  void server_idle(std::uint32_t pool);
  std::uint32_t new_open_query();
  void censor_waiting();
  ReplicationOutcome outcome();

  const Plan& plan_;
  Rng rng_;
  EventHeap heap_;
  double now_ = 0;
  bool measuring_ = false;
  std::vector<GroupState> groups_;
  std::vector<InstanceState> instances_;
  std::vector<Query> queries_;
  std::vector<std::uint32_t> free_queries_;
  std::uint32_t closed_users_ = 0; // queries_[0, closed_users_) are the closed users
  std::int64_t open_live_ = 0;
  std::vector<ServerPoolState> pools_;
  std::vector<std::int64_t> db_count_;
  std::vector<std::int64_t> user_count_;
  std::vector<std::int64_t> db_cap_;   // per database: its max_db_connections, 0 = no limit
  std::vector<std::int64_t> user_cap_; // per user: its max_user_connections, 0 = no limit
  bool any_cap_ = false;
  double reserve_timeout_ = 0;
  double query_wait_timeout_ = 0;
  double connect_s_ = 0;
  std::int64_t events_ = 0;
  bool overflowed_ = false;
  std::vector<double> all_waits_;  // every group's positive waits, for the total's percentiles
  std::vector<double> pool_waits_; // one PgBouncer pool's groups' positive waits, for its percentiles
};

Engine::Engine(const Plan& plan, std::uint64_t seed, std::uint64_t replication, std::vector<std::vector<double>>& buffers)
  : plan_(plan)
  , rng_(seed, replication)
{
  setup_pgbouncer();
  setup_groups();
  buffers.resize(std::max(buffers.size(), groups_.size() + 2));
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    groups_[i].waits = std::move(buffers[i]);
    groups_[i].waits.clear();
  }
  all_waits_ = std::move(buffers[groups_.size()]);
  all_waits_.clear();
  pool_waits_ = std::move(buffers[groups_.size() + 1]);
  pool_waits_.clear();
}

void Engine::give_back(std::vector<std::vector<double>>& buffers)
{
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    buffers[i] = std::move(groups_[i].waits);
  }
  buffers[groups_.size()] = std::move(all_waits_);
  buffers[groups_.size() + 1] = std::move(pool_waits_);
}

void Engine::setup_pgbouncer()
{
  if (!plan_.model.pgbouncer) {
    return;
  }
  const SimPgBouncer& b = *plan_.model.pgbouncer;
  reserve_timeout_ = b.reserve_pool_timeout_s;
  query_wait_timeout_ = b.query_wait_timeout_s;
  connect_s_ = b.server_connect_s;
  std::vector<std::string> dbs;
  std::vector<std::string> users;
  auto index_of = [](std::vector<std::string>& names, const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) {
      return static_cast<std::uint32_t>(it - names.begin());
    }
    names.push_back(name);
    return static_cast<std::uint32_t>(names.size() - 1);
  };
  for (const SimServerPool& sp : b.pools) {
    ServerPoolState p;
    p.pool_size = sp.pool_size;
    p.reserve = sp.reserve_pool_size;
    p.db = index_of(dbs, sp.database);
    p.user = index_of(users, sp.user);
    pools_.push_back(std::move(p));
  }
  db_count_.assign(dbs.size(), 0);
  user_count_.assign(users.size(), 0);
  // objects.c database_max_connections / user_max_connections: the entry's cap when positive,
  // else the global one.
  auto cap_of = [](const std::map<std::string, std::int64_t>& caps, const std::string& name, std::int64_t global) {
    const auto it = caps.find(name);
    return it != caps.end() && it->second > 0 ? it->second : global;
  };
  for (const std::string& db : dbs) {
    db_cap_.push_back(cap_of(b.database_caps, db, b.max_db_connections));
    any_cap_ = any_cap_ || db_cap_.back() > 0;
  }
  for (const std::string& user : users) {
    user_cap_.push_back(cap_of(b.user_caps, user, b.max_user_connections));
    any_cap_ = any_cap_ || user_cap_.back() > 0;
  }
}

void Engine::setup_groups()
{
  const std::vector<SimGroup>& model_groups = plan_.model.groups;
  std::uint32_t instance_count = 0;
  std::uint32_t users = 0;
  for (std::size_t gi = 0; gi < model_groups.size(); ++gi) {
    const SimGroup& m = model_groups[gi];
    GroupState g(Sampler(m.think), Sampler(m.hold));
    g.pool = m.pool;
    g.pool_timeout = m.pool_timeout_s;
    g.server_pool = m.server_pool;
    g.first_instance = instance_count;
    g.instances = static_cast<std::uint32_t>(m.instances);
    g.closed = plan_.active[gi] && m.users > 0;
    g.open_rate = plan_.active[gi] && !g.closed ? m.arrival_rps * static_cast<double>(m.instances) : 0;
    if (m.pool > 0) {
      g.capacity = static_cast<double>(m.pool) * static_cast<double>(m.instances);
    } else if (m.server_pool >= 0) {
      g.capacity = static_cast<double>(pools_[static_cast<std::size_t>(m.server_pool)].pool_size);
    }
    instance_count += g.instances;
    if (g.closed) {
      users += static_cast<std::uint32_t>(m.users * m.instances);
    }
    groups_.push_back(std::move(g));
  }
  instances_.resize(instance_count);
  queries_.reserve(users);
  for (std::uint32_t gi = 0; gi < groups_.size(); ++gi) {
    GroupState& g = groups_[gi];
    for (std::uint32_t i = 0; i < g.instances; ++i) {
      instances_[g.first_instance + i].free = g.pool;
    }
    if (g.closed) {
      // Each user starts thinking with a random phase over one cycle.
      const double cycle = g.think.mean + g.hold.mean;
      const std::int64_t per_instance = model_groups[gi].users;
      for (std::uint32_t i = 0; i < g.instances; ++i) {
        for (std::int64_t u = 0; u < per_instance; ++u) {
          const auto id = static_cast<std::uint32_t>(queries_.size());
          queries_.push_back(Query{ 0, 0, gi, g.first_instance + i });
          heap_.push(rng_.uniform() * cycle, e_think_end, id);
        }
      }
    } else if (g.open_rate > 0) {
      heap_.push(-std::log(rng_.uniform()) / g.open_rate, e_open_arrival, gi);
    }
  }
  closed_users_ = static_cast<std::uint32_t>(queries_.size());
}

ReplicationOutcome Engine::run()
{
  const double warm = plan_.warmup_s;
  const double end = plan_.warmup_s + plan_.measure_s;
  while (!heap_.empty()) {
    const Event e = heap_.pop();
    if (e.t > end) {
      break;
    }
    if (!measuring_ && e.t >= warm) {
      now_ = warm;
      start_measuring();
    }
    now_ = e.t;
    ++events_;
    dispatch(e);
    if (overflowed_) {
      break;
    }
  }
  if (!measuring_) {
    // No event in the measured span: it starts at the warm-up's end all the same (or, for a
    // replication stopped during its warm-up, now, with nothing measured but the waits so far).
    if (!overflowed_) {
      now_ = warm;
    }
    start_measuring();
  }
  if (overflowed_) {
    censor_waiting();
  } else {
    now_ = end;
  }
  for (GroupState& g : groups_) {
    set_busy(g, 0);
  }
  for (ServerPoolState& p : pools_) {
    set_busy(p, 0);
  }
  return outcome();
}

void Engine::start_measuring()
{
  for (GroupState& g : groups_) {
    set_busy(g, 0);
    g.busy_area = 0;
  }
  for (ServerPoolState& p : pools_) {
    set_busy(p, 0);
    p.busy_area = 0;
  }
  measuring_ = true;
}

void Engine::dispatch(const Event& e)
{
  const auto id = static_cast<std::uint32_t>(e.key);
  switch (static_cast<EventType>(e.key >> 32)) {
  case e_think_end:
    start_query(id);
    break;
  case e_open_arrival:
    open_arrival(id);
    break;
  case e_hold_end:
    hold_end(id);
    break;
  case e_client_timer:
    client_timer(id);
    break;
  case e_wait_timer:
    wait_timer(id);
    break;
  case e_reserve_timer:
    reserve_timer(id);
    break;
  case e_connect_done:
    connect_done(id);
    break;
  }
}

void Engine::set_busy(GroupState& g, std::int64_t delta)
{
  g.busy_area += static_cast<double>(g.busy) * (now_ - g.busy_since);
  g.busy_since = now_;
  g.busy += delta;
}

void Engine::set_busy(ServerPoolState& p, std::int64_t delta)
{
  p.busy_area += static_cast<double>(p.busy) * (now_ - p.busy_since);
  p.busy_since = now_;
  p.busy += delta;
}

void Engine::record(GroupState& g, double wait, bool served)
{
  if (!measuring_) {
    return;
  }
  ++(served ? g.served : g.abandoned);
  g.wait_sum += wait;
  if (wait > 0) {
    g.waits.push_back(wait);
  } else {
    ++g.zero_waits;
  }
}

std::uint32_t Engine::new_open_query()
{
  ++open_live_;
  if (open_live_ > plan_.max_open_live) {
    overflowed_ = true;
  }
  if (!free_queries_.empty()) {
    const std::uint32_t q = free_queries_.back();
    free_queries_.pop_back();
    return q;
  }
  queries_.push_back(Query{});
  return static_cast<std::uint32_t>(queries_.size() - 1);
}

void Engine::open_arrival(std::uint32_t group)
{
  GroupState& g = groups_[group];
  const std::uint32_t q = new_open_query();
  queries_[q].group = group;
  queries_[q].instance = g.first_instance + static_cast<std::uint32_t>(rng_.below(g.instances));
  heap_.push(now_ - std::log(rng_.uniform()) / g.open_rate, e_open_arrival, group);
  start_query(q);
}

void Engine::start_query(std::uint32_t q)
{
  Query& r = queries_[q];
  r.arrival = now_;
  const GroupState& g = groups_[r.group];
  if (g.pool <= 0) {
    got_client(q);
    return;
  }
  InstanceState& in = instances_[r.instance];
  if (in.free > 0) {
    --in.free;
    got_client(q);
    return;
  }
  in.waiters.push_back(q);
  if (g.pool_timeout > 0 && !in.timer) {
    in.timer = true;
    heap_.push(now_ + g.pool_timeout, e_client_timer, r.instance);
  }
}

void Engine::got_client(std::uint32_t q)
{
  GroupState& g = groups_[queries_[q].group];
  if (g.pool > 0) {
    set_busy(g, 1);
  }
  if (g.server_pool >= 0) {
    ask_server(q);
  } else {
    start_hold(q);
  }
}

void Engine::ask_server(std::uint32_t q)
{
  const auto pi = static_cast<std::uint32_t>(groups_[queries_[q].group].server_pool);
  ServerPoolState& p = pools_[pi];
  queries_[q].enter_pgb = now_;
  if (p.waiters.empty() && !p.idle.empty()) {
    p.idle.pop_front(); // the most recently used idle server (PgBouncer's default, LIFO)
    start_hold(q);
    return;
  }
  p.waiters.push_back(q);
  if (query_wait_timeout_ > 0 && !p.wait_timer) {
    p.wait_timer = true;
    heap_.push(now_ + query_wait_timeout_, e_wait_timer, pi);
  }
  pool_activity(pi);
}

void Engine::start_hold(std::uint32_t q)
{
  const Query& r = queries_[q];
  GroupState& g = groups_[r.group];
  record(g, now_ - r.arrival, true);
  if (g.server_pool >= 0) {
    set_busy(pools_[static_cast<std::size_t>(g.server_pool)], 1);
    if (g.pool <= 0) {
      set_busy(g, 1);
    }
  }
  heap_.push(now_ + g.hold.draw(rng_), e_hold_end, q);
}

void Engine::hold_end(std::uint32_t q)
{
  GroupState& g = groups_[queries_[q].group];
  if (g.server_pool >= 0) {
    ServerPoolState& p = pools_[static_cast<std::size_t>(g.server_pool)];
    set_busy(p, -1);
    release_server(p);
    if (g.pool <= 0) {
      set_busy(g, -1);
    }
  }
  release_client(q);
  finish_query(q);
}

// The query's client connection goes to the instance's oldest waiter, else back to the pool.
void Engine::release_client(std::uint32_t q)
{
  GroupState& g = groups_[queries_[q].group];
  if (g.pool <= 0) {
    return;
  }
  set_busy(g, -1);
  InstanceState& in = instances_[queries_[q].instance];
  if (in.waiters.empty()) {
    ++in.free;
    return;
  }
  got_client(in.waiters.pop_front());
}

// A closed user thinks before its next query; an open query's record is reused.
void Engine::finish_query(std::uint32_t q)
{
  if (q < closed_users_) {
    const GroupState& g = groups_[queries_[q].group];
    heap_.push(now_ + g.think.draw(rng_), e_think_end, q);
    return;
  }
  --open_live_;
  free_queries_.push_back(q);
}

void Engine::release_server(ServerPoolState& p)
{
  const auto pi = static_cast<std::uint32_t>(&p - pools_.data());
  if (!p.waiters.empty()) {
    start_hold(p.waiters.pop_front());
    pool_activity(pi);
    return;
  }
  p.idle.push_front(now_);
  server_idle(pi);
}

void Engine::client_timer(std::uint32_t instance)
{
  InstanceState& in = instances_[instance];
  in.timer = false;
  while (!in.waiters.empty()) {
    const std::uint32_t q = in.waiters.front();
    const GroupState& g = groups_[queries_[q].group];
    const double due = queries_[q].arrival + g.pool_timeout;
    if (due > now_) {
      in.timer = true;
      heap_.push(due, e_client_timer, instance);
      return;
    }
    in.waiters.pop_front();
    record(groups_[queries_[q].group], now_ - queries_[q].arrival, false);
    finish_query(q);
  }
}

void Engine::wait_timer(std::uint32_t pool)
{
  ServerPoolState& p = pools_[pool];
  p.wait_timer = false;
  while (!p.waiters.empty()) {
    const std::uint32_t q = p.waiters.front();
    const double due = queries_[q].enter_pgb + query_wait_timeout_;
    if (due > now_) {
      p.wait_timer = true;
      heap_.push(due, e_wait_timer, pool);
      break;
    }
    p.waiters.pop_front();
    record(groups_[queries_[q].group], now_ - queries_[q].arrival, false);
    release_client(q);
    finish_query(q);
  }
  pool_activity(pool);
}

void Engine::reserve_timer(std::uint32_t pool)
{
  pools_[pool].reserve_timer = false;
  pool_activity(pool);
}

void Engine::connect_done(std::uint32_t pool)
{
  ServerPoolState& p = pools_[pool];
  p.connecting = false;
  if (!p.waiters.empty()) {
    start_hold(p.waiters.pop_front());
    pool_activity(pool);
    return;
  }
  p.idle.push_front(now_);
  server_idle(pool);
}

// PgBouncer's per-loop step for a pool (janitor.c per_loop_activate): with clients waiting and no
// idle server, ask for a new connection; and keep a timer for the moment the oldest waiter reaches
// reserve_pool_timeout, when the reserve opens.
void Engine::pool_activity(std::uint32_t pool)
{
  ServerPoolState& p = pools_[pool];
  if (p.waiters.empty()) {
    return;
  }
  launch_new_connection(pool);
  schedule_reserve_timer(pool);
}

void Engine::schedule_reserve_timer(std::uint32_t pool)
{
  ServerPoolState& p = pools_[pool];
  if (p.reserve_timer || reserve_timeout_ <= 0 || p.reserve <= 0 || p.waiters.empty() || p.servers >= p.pool_size + p.reserve) {
    return;
  }
  const double due = queries_[p.waiters.front()].enter_pgb + reserve_timeout_;
  if (due > now_) {
    p.reserve_timer = true;
    heap_.push(due, e_reserve_timer, pool);
  }
}

// objects.c launch_new_connection, with evict_if_needed.
void Engine::launch_new_connection(std::uint32_t pool)
{
  ServerPoolState& p = pools_[pool];
  if (p.connecting) {
    return; // a single connection attempt at a time
  }
  if (p.servers >= p.pool_size) {
    const bool reserve = reserve_timeout_ > 0 && p.reserve > 0 && !p.waiters.empty() &&
                         now_ >= queries_[p.waiters.front()].enter_pgb + reserve_timeout_ && p.servers < p.pool_size + p.reserve;
    if (!reserve) {
      return;
    }
  }
  if (const std::int64_t cap = db_cap_[p.db]; cap > 0) {
    while (db_count_[p.db] >= cap && evict(true, p.db)) {
    }
    if (db_count_[p.db] >= cap) {
      p.blocked = true;
      return;
    }
  }
  if (const std::int64_t cap = user_cap_[p.user]; cap > 0) {
    while (user_count_[p.user] >= cap && evict(false, p.user)) {
    }
    if (user_count_[p.user] >= cap) {
      p.blocked = true;
      return;
    }
  }
  p.blocked = false;
  ++p.servers;
  ++db_count_[p.db];
  ++user_count_[p.user];
  p.connecting = true;
  heap_.push(now_ + connect_s_, e_connect_done, pool);
}

// objects.c evict_connection / evict_user_connection: close the server idle longest among the
// database's (or user's) pools; on a tie the later pool's.
bool Engine::evict(bool by_db, std::uint32_t which)
{
  ServerPoolState* victim = nullptr;
  for (ServerPoolState& q : pools_) {
    if ((by_db ? q.db : q.user) != which || q.idle.empty()) {
      continue;
    }
    if (victim == nullptr || !(victim->idle.back() < q.idle.back())) {
      victim = &q;
    }
  }
  if (victim == nullptr) {
    return false;
  }
  victim->idle.pop_back();
  --victim->servers;
  --db_count_[victim->db];
  --user_count_[victim->user];
  return true;
}

// A server became idle: a pool stopped at a connection limit may now evict it and open its own.
void Engine::server_idle(std::uint32_t pool)
{
  if (!any_cap_) {
    return;
  }
  const ServerPoolState& p = pools_[pool];
  for (std::uint32_t i = 0; i < pools_.size(); ++i) {
    ServerPoolState& q = pools_[i];
    if (i != pool && q.blocked && !q.waiters.empty() && (q.db == p.db || q.user == p.user)) {
      launch_new_connection(i);
    }
  }
}

// A replication stopped by an overflowing queue: every query still waiting counts with the wait
// it has had so far, as if it gave up now.
void Engine::censor_waiting()
{
  for (InstanceState& in : instances_) {
    for (std::size_t i = 0; i < in.waiters.size(); ++i) {
      const Query& r = queries_[in.waiters.at(i)];
      record(groups_[r.group], now_ - r.arrival, false);
    }
  }
  for (ServerPoolState& p : pools_) {
    for (std::size_t i = 0; i < p.waiters.size(); ++i) {
      const Query& r = queries_[p.waiters.at(i)];
      record(groups_[r.group], now_ - r.arrival, false);
    }
  }
}

// The nearest-rank p-quantile of `zeros` zero waits and the positive `waits` (reordered).
double wait_quantile(std::vector<double>& waits, std::int64_t zeros, double p)
{
  const double n = static_cast<double>(zeros) + static_cast<double>(waits.size());
  if (n <= 0) {
    return 0;
  }
  const auto rank = static_cast<std::int64_t>(std::clamp(std::ceil(p * n - 1e-9), 1.0, n));
  if (rank <= zeros) {
    return 0;
  }
  const auto k = static_cast<std::size_t>(rank - zeros - 1);
  std::nth_element(waits.begin(), waits.begin() + static_cast<std::ptrdiff_t>(k), waits.end());
  return waits[k];
}

// The p95 and p99: the p99 first, then the p95 among the waits nth_element left below it.
std::pair<double, double> wait_p95_p99(std::vector<double>& waits, std::int64_t zeros)
{
  const double p99 = wait_quantile(waits, zeros, 0.99);
  const double n = static_cast<double>(zeros) + static_cast<double>(waits.size());
  const auto rank = static_cast<std::int64_t>(std::clamp(std::ceil(0.95 * n - 1e-9), 1.0, std::max(n, 1.0)));
  if (rank <= zeros || n <= 0) {
    return { 0.0, p99 };
  }
  const auto k = static_cast<std::size_t>(rank - zeros - 1);
  const auto k99 = static_cast<std::size_t>(std::clamp(std::ceil(0.99 * n - 1e-9), 1.0, n)) - static_cast<std::size_t>(zeros) - 1;
  std::nth_element(waits.begin(), waits.begin() + static_cast<std::ptrdiff_t>(k), waits.begin() + static_cast<std::ptrdiff_t>(k99));
  return { waits[k], p99 };
}

struct Tally
{
  std::int64_t served = 0;
  std::int64_t abandoned = 0;
  std::int64_t zeros = 0;
  double wait_sum = 0;
  double busy_area = 0;
  double capacity = 0;
};

void fill_figures(double* f, const Tally& t, std::vector<double>& waits, double measured_s)
{
  const double n = static_cast<double>(t.served + t.abandoned);
  f[f_throughput] = measured_s > 0 ? static_cast<double>(t.served) / measured_s : 0;
  f[f_p_wait] = n > 0 ? static_cast<double>(waits.size()) / n : 0;
  f[f_mean_wait] = n > 0 ? t.wait_sum / n * 1000.0 : 0;
  const auto [p95, p99] = wait_p95_p99(waits, t.zeros);
  f[f_p95_wait] = p95 * 1000.0;
  f[f_p99_wait] = p99 * 1000.0;
  f[f_timeout_rate] = n > 0 ? static_cast<double>(t.abandoned) / n : 0;
  f[f_utilization] = t.capacity > 0 && measured_s > 0 ? t.busy_area / (t.capacity * measured_s) : 0;
}

ReplicationOutcome Engine::outcome()
{
  ReplicationOutcome out;
  out.events = events_;
  out.overflowed = overflowed_;
  out.figures.assign((groups_.size() + 1 + pools_.size()) * k_figures, 0.0);
  const double measured = now_ - plan_.warmup_s;
  Tally total;
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    GroupState& g = groups_[gi];
    const Tally t{ g.served, g.abandoned, g.zero_waits, g.wait_sum, g.busy_area, g.capacity };
    if (groups_.size() > 1) {
      all_waits_.insert(all_waits_.end(), g.waits.begin(), g.waits.end());
    }
    fill_figures(&out.figures[gi * k_figures], t, g.waits, measured);
    total.served += t.served;
    total.abandoned += t.abandoned;
    total.zeros += t.zeros;
    total.wait_sum += t.wait_sum;
    total.busy_area += t.busy_area;
    total.capacity += t.capacity;
  }
  if (groups_.size() == 1) {
    std::copy_n(out.figures.begin(), k_figures, out.figures.begin() + k_figures);
  } else {
    fill_figures(&out.figures[groups_.size() * k_figures], total, all_waits_, measured);
  }
  // Each PgBouncer pool: its groups' queries, its servers' busy time over its pool_size.
  for (std::size_t pi = 0; pi < pools_.size(); ++pi) {
    const ServerPoolState& p = pools_[pi];
    Tally t{ 0, 0, 0, 0, p.busy_area, static_cast<double>(p.pool_size) };
    pool_waits_.clear();
    for (const GroupState& g : groups_) {
      if (g.server_pool != static_cast<int>(pi)) {
        continue;
      }
      t.served += g.served;
      t.abandoned += g.abandoned;
      t.zeros += g.zero_waits;
      t.wait_sum += g.wait_sum;
      pool_waits_.insert(pool_waits_.end(), g.waits.begin(), g.waits.end());
    }
    fill_figures(&out.figures[(groups_.size() + 1 + pi) * k_figures], t, pool_waits_, measured);
  }
  return out;
}

} // namespace

ReplicationOutcome run_replication(const Plan& plan, std::uint64_t seed, std::uint64_t replication)
{
  // Each thread keeps its wait buffers from one replication to the next.
  thread_local std::vector<std::vector<double>> buffers;
  Engine engine(plan, seed, replication, buffers);
  ReplicationOutcome out = engine.run();
  engine.give_back(buffers);
  return out;
}

} // namespace poolcalc::sim_detail
