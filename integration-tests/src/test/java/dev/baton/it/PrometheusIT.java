package dev.baton.it;

import dev.baton.it.fixture.LocalGaleraCluster;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.routing.ClientQuota;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real Prometheus scrapes two Baton instances in front of a real Galera cluster while clients hit their quota,
 * one instance has no writer and the writer fails over; then every PromQL expression of the Grafana dashboard
 * and of the alert rules must return series. A renamed metric or a typo in a panel fails here.
 */
class PrometheusIT {
    private static final Path PROJECT = Path.of(System.getProperty("baton.project.dir", ".."));
    private static LocalGaleraCluster cluster;
    private static RunningBaton baton;
    private static RunningBaton blind;
    private static Process prometheus;
    private static Path prometheusDir;
    private static int prometheusPort;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalGaleraCluster.start("prometheus", 3, GaleraFailoverIT.EVS);
        baton = RunningBaton.inFrontOfGalera(cluster, "baton-x", new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS, 2,
                250, Map.of(), Duration.ofMinutes(10)));
        blind = RunningBaton.inFrontOfGaleraAs(cluster, "baton-y", "baton_monitor", "not-the-password");
        prometheusDir = Files.createTempDirectory("baton-prometheus");
        prometheusPort = RunningBaton.freePort();
        Files.writeString(prometheusDir.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: baton
                    static_configs:
                      - targets: ['127.0.0.1:%d', '127.0.0.1:%d']
                """.formatted(baton.proxy().adminAddress().getPort(), blind.proxy().adminAddress().getPort()));
        prometheus = new ProcessBuilder("prometheus", "--config.file=" + prometheusDir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + prometheusDir.resolve("data"), "--web.listen-address=127.0.0.1:" + prometheusPort)
                .redirectErrorStream(true).redirectOutput(prometheusDir.resolve("prometheus.log").toFile()).start();
        long started = System.nanoTime();
        try {
            await("Prometheus ready").atMost(Duration.ofSeconds(30)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(200))
                    .ignoreExceptionsInstanceOf(IOException.class) // starting
                    .failFast("Prometheus exited", () -> !prometheus.isAlive())
                    .until(() -> get("/-/ready").statusCode() == 200);
        } catch (ConditionTimeoutException | TerminalFailureException e) {
            throw new IllegalStateException("Prometheus did not start: " + Files.readString(prometheusDir.resolve("prometheus.log")));
        }
        // Ready is not scraping: Prometheus starts scraping a few seconds later. Wait until both Batons are up.
        try {
            await("both Batons scraped").atMost(Duration.ofSeconds(60).minusNanos(System.nanoTime() - started))
                    .pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(200))
                    .until(() -> get("/api/v1/query?query=" + URLEncoder.encode("count(up == 1) == 2", StandardCharsets.UTF_8))
                            .body().contains("\"value\""));
        } catch (ConditionTimeoutException e) {
            throw new IllegalStateException("Prometheus never scraped both Batons");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (prometheus != null) {
            prometheus.destroy();
            prometheus.waitFor(10, TimeUnit.SECONDS);
        }
        if (baton != null) {
            baton.close();
        }
        if (blind != null) {
            blind.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prometheusPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyDashboardAndAlertExpressionReturnsSeries() throws Exception {
        baton.awaitWriter(Duration.ofSeconds(20));
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                held.add(DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.2"), "app", "app"));
                try (Statement s = held.get(i).createStatement()) {
                    s.execute("SELECT 1");
                }
            }
            Thread.sleep(3000); // scrapes with the client below its limit and nothing rejected yet
            assertThrows(SQLException.class, () -> DriverManager.getConnection(
                    baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.2"), "app", "app").close());
            String writer = baton.writer();
            cluster.kill9(Integer.parseInt(writer.substring(2)));
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertTrue(baton.writer() != null && !baton.writer().equals(writer), "failed over"));
            held.removeIf(c -> {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // closed by the failover
                }
                return true;
            });
            held.add(DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.2"), "app", "app"));
            held.add(DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.2"), "app", "app"));
            for (Connection c : held) {
                try (Statement s = c.createStatement()) {
                    s.execute("SELECT 1");
                }
            }
            Thread.sleep(5000); // several scrapes after the failover

            Set<String> expressions = new LinkedHashSet<>();
            expressions.addAll(dashboardExpressions());
            expressions.addAll(alertExpressions());
            assertTrue(expressions.size() >= 20, "found " + expressions.size() + " expressions");
            List<String> empty = new ArrayList<>();
            for (String expr : expressions) {
                String concrete = expr.replace("$__rate_interval", "1m").replace("$__range", "10m")
                        .replace("$instance", ".*");
                HttpResponse<String> r = get("/api/v1/query?query=" + URLEncoder.encode(concrete, StandardCharsets.UTF_8));
                assertEquals(200, r.statusCode(), concrete + ": " + r.body());
                if (r.body().contains("\"result\":[]")) {
                    Matcher metric = Pattern.compile("baton_[a-z_]+").matcher(concrete);
                    String samples = metric.find() ? get("/api/v1/query?query=" + URLEncoder.encode(metric.group() + "[1m]",
                            StandardCharsets.UTF_8)).body() : "";
                    empty.add(concrete + "   (raw samples of its first metric: " + samples + ")");
                }
            }
            assertTrue(empty.isEmpty(), "expressions with no series:\n" + String.join("\n", empty));
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
    }

    @Test
    void alertRulesPassPromtool() throws Exception {
        Process p = new ProcessBuilder("promtool", "check", "rules", PROJECT.resolve("docs/prometheus/alerts.yml").toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("SUCCESS: 6 rules found"), out);
    }

    private static final Pattern REPLICATION_ONLY =
            Pattern.compile("baton_node_(role|replication_lag_seconds|semi_sync_active)\\b");

    private static List<String> dashboardExpressions() throws IOException {
        String json = Files.readString(PROJECT.resolve("docs/grafana/baton.json"));
        assertTrue(json.contains("\"name\": \"datasource\"") && json.contains("\"type\": \"datasource\""),
                "the dashboard has a Prometheus data-source variable");
        List<String> found = new ArrayList<>();
        Matcher m = Pattern.compile("\"expr\": \"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        while (m.find()) {
            String expr = m.group(1).replace("\\\"", "\"").replace("\\\\", "\\");
            // The primary/replica row's series exist only in front of such a cluster; this test runs Galera.
            if (!REPLICATION_ONLY.matcher(expr).find()) {
                found.add(expr);
            }
        }
        return found;
    }

    @SuppressWarnings("unchecked")
    private static List<String> alertExpressions() throws IOException {
        Map<String, Object> doc = new Yaml().load(Files.readString(PROJECT.resolve("docs/prometheus/alerts.yml")));
        List<String> found = new ArrayList<>();
        for (Map<String, Object> group : (List<Map<String, Object>>) doc.get("groups")) {
            for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
                found.add(String.valueOf(rule.get("expr")));
            }
        }
        return found;
    }
}
