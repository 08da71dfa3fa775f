// Drives poolcalc's HikariCP snippet (tests/clients/run.py): loads hikari.properties from the
// current directory as the snippet says (new HikariDataSource(new HikariConfig(FILE))), checks
// one query, then starts QUERIES threads at once, each running pg_sleep(HOLD) on a connection
// from the pool, and prints one JSON line: each query's outcome and seconds from its start.
//
//   java -cp CLASSPATH Drive QUERIES HOLD
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.CyclicBarrier;

public final class Drive {
  private static String message(Throwable error) {
    String text = String.valueOf(error.getMessage());
    return error.getClass().getSimpleName() + ": " + text.split("\n")[0];
  }

  private static String json(String text) {
    if (text == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  public static void main(String[] args) throws Exception {
    final int queries = Integer.parseInt(args[0]);
    final String hold = args[1];
    HikariDataSource source = null;
    String openError = null;
    try {
      source = new HikariDataSource(new HikariConfig("hikari.properties"));
      // The whole pool open before the load, as in a service at steady state (HikariCP opens all
      // but the first connection in the background): through PgBouncer each connection's set-up
      // then runs on the server connection already there, the case in which a name set by SET
      // after connecting is lost (docs/clients.md, dataSource.assumeMinServerVersion).
      final long deadline = System.nanoTime() + 5_000_000_000L;
      while (source.getHikariPoolMXBean().getTotalConnections() < source.getMaximumPoolSize()
             && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      try (Connection connection = source.getConnection(); Statement statement = connection.createStatement()) {
        statement.execute("SELECT 1");
      }
    } catch (Exception error) {
      openError = message(error);
    }
    StringBuilder results = new StringBuilder();
    if (openError == null) {
      final HikariDataSource pool = source;
      final String[] result = new String[queries];
      final CyclicBarrier barrier = new CyclicBarrier(queries);
      Thread[] threads = new Thread[queries];
      for (int i = 0; i < queries; i++) {
        final int index = i;
        threads[i] = new Thread(() -> {
          try {
            barrier.await();
          } catch (Exception error) {
            throw new RuntimeException(error);
          }
          long start = System.nanoTime();
          try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SELECT pg_sleep(" + hold + ")");
            result[index] = "{\"ok\":true,\"seconds\":" + (System.nanoTime() - start) / 1e9 + ",\"error\":null}";
          } catch (Exception error) {
            result[index] = "{\"ok\":false,\"seconds\":" + (System.nanoTime() - start) / 1e9 + ",\"error\":" + json(message(error)) + "}";
          }
        });
        threads[i].start();
      }
      for (Thread thread : threads) {
        thread.join();
      }
      results.append(String.join(",", result));
    }
    if (source != null) {
      source.close();
    }
    System.out.println("{\"opened\":" + (openError == null) + ",\"open_error\":" + json(openError) + ",\"results\":[" + results + "]}");
  }
}
