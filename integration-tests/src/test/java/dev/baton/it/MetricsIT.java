package dev.baton.it;

import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.ClientQuota;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an operator's Prometheus scrapes from {@code GET /metrics} while clients use Baton. */
class MetricsIT {

    static String scrape(RunningBaton baton) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + baton.proxy().adminAddress().getPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        return r.body();
    }

    /** The value of the series whose name and labels are exactly {@code series}. */
    static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+)$").matcher(text);
        assertTrue(m.find(), "no series " + series + " in:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void quotasTrafficCommandsAndWriterShowUpAsSeries() throws Exception {
        try (RunningBaton baton = RunningBaton.inFrontOf(LocalMariaDb.shared(), new ClientQuota.Settings(
                ClientQuota.Key.CLIENT_ADDRESS, 2, 250, Map.of(), Duration.ofMinutes(10)))) {
            List<Connection> held = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    held.add(DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.2"), "app", "app"));
                }
                assertThrows(SQLException.class, () -> DriverManager.getConnection(
                        baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.2"), "app", "app").close());
                for (int i = 0; i < 10; i++) {
                    try (Statement s = held.get(0).createStatement(); ResultSet rs = s.executeQuery("SELECT " + i)) {
                        rs.next();
                    }
                }
                String text = scrape(baton);
                assertEquals(2, value(text, "baton_client_connections{client=\"127.0.0.2\"}"));
                assertEquals(2, value(text, "baton_client_connection_limit{client=\"127.0.0.2\"}"));
                assertEquals(1, value(text, "baton_client_connections_rejected_total{client=\"127.0.0.2\"}"));
                assertEquals(2, value(text, "baton_connections_total"));
                assertTrue(value(text, "baton_commands_total{command=\"query\"}") >= 10);
                assertTrue(value(text, "baton_client_bytes_total") > 0);
                assertTrue(value(text, "baton_server_bytes_total") > 0);
                assertEquals(1, value(text, "baton_writer{node=\"db1\"}"));
                assertTrue(value(text, "process_uptime_seconds") > 0);
                assertTrue(text.contains("jvm_memory_used_bytes{"), "JVM metrics are exported");
            } finally {
                for (Connection c : held) {
                    c.close();
                }
            }
            baton.awaitNoSessions(Duration.ofSeconds(10));
            assertEquals(0, value(scrape(baton), "baton_client_connections{client=\"127.0.0.2\"}"));
        }
    }
}
