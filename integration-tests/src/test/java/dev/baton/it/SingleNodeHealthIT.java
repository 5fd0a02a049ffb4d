package dev.baton.it;

import dev.baton.cli.BatonCli;
import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.it.fixture.TcpRelay;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.TopologyType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an operator sees of the one server of a {@code single} cluster: {@code baton status}, {@code baton check},
 * {@code baton health} and the metrics, with a monitor user (up, down with the reason when its link is cut, up
 * again) and without one (not monitored, and why).
 */
class SingleNodeHealthIT {
    private static LocalMariaDb db;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.start("single-health", List.of("max_connections=100"));
        db.sql("CREATE USER baton_monitor@'%' IDENTIFIED BY 'monitor'"); // no grant: the single check needs none
    }

    @AfterAll
    static void stop() {
        db.close();
    }

    /** A single-server Baton in front of {@code port}, checking every 200 ms (1 s timeout, fall 2, rise 2). */
    private static RunningBaton monitored(int port, String password) {
        Node node = new Node("db1", new HostPort("127.0.0.1", port), 1);
        ClusterSpec spec = new ClusterSpec(List.of(node), new ClusterSpec.MonitorSettings("baton_monitor", password,
                Duration.ofMillis(200), Duration.ofSeconds(1), 2, 2), false, Duration.ZERO, "baton", "it");
        BatonConfig config = RunningBaton.single(node.address()).withCluster(TopologyType.SINGLE, spec);
        return RunningBaton.start(config);
    }

    private record Cli(int exit, String out) {
    }

    private static Cli cli(RunningBaton baton, String... command) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> args = new java.util.ArrayList<>(List.of("--url", "http://127.0.0.1:" + baton.proxy().adminAddress().getPort()));
        args.addAll(List.of(command));
        int exit = BatonCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
        return new Cli(exit, out + err.toString());
    }

    /** The status table's line of node db1. */
    private static String nodeLine(RunningBaton baton) {
        return cli(baton, "status").out().lines().filter(l -> l.startsWith("db1 ")).findFirst().orElseThrow();
    }

    private static String selectOne(RunningBaton baton) throws SQLException {
        try (Connection c = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&connectTimeout=5000"),
                "app", "app"); ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void statusAndMetricsShowTheServerDownWithTheReasonWhileItsLinkIsCutAndUpAgainWhenRestored() throws Exception {
        try (TcpRelay relay = new TcpRelay(db.host(), db.port()); RunningBaton baton = monitored(relay.port(), "monitor")) {
            await().atMost(Duration.ofSeconds(10)).until(() -> nodeLine(baton).contains(" up* "));
            assertTrue(baton.proxy().scrapeMetrics().contains("baton_node_up{node=\"db1\"} 1.0"));
            assertFalse(baton.proxy().scrapeMetrics().contains("baton_node_flow_control_paused"), "no Galera series");
            assertEquals("1", selectOne(baton));

            relay.cut();
            await().atMost(Duration.ofSeconds(10)).until(() -> nodeLine(baton).contains(" down* "));
            String line = nodeLine(baton);
            assertTrue(line.contains("unreachable: "), line);
            assertTrue(baton.proxy().scrapeMetrics().contains("baton_node_up{node=\"db1\"} 0.0"));
            assertEquals("db1", baton.writer(), "still routes to the only server");
            SQLException refused = assertThrows(SQLException.class, () -> selectOne(baton));
            assertTrue(refused.getMessage().contains("no writer available"), refused.getMessage());
            assertTrue(cli(baton, "events").out().contains("node db1 is down: unreachable: "), cli(baton, "events").out());
            Cli check = cli(baton, "check");
            assertEquals(1, check.exit(), check.out());
            assertTrue(check.out().contains("FAIL  node reachable and writable: db1: unreachable: "), check.out());

            relay.restore();
            await().atMost(Duration.ofSeconds(10)).until(() -> nodeLine(baton).contains(" up* "));
            assertTrue(baton.proxy().scrapeMetrics().contains("baton_node_up{node=\"db1\"} 1.0"));
            assertEquals("1", selectOne(baton));
        }
    }

    @Test
    void maxConnectionsBelowTheQuotasIsWarnedAndFailsTheCheckUntilRaised() {
        try (RunningBaton baton = monitored(db.port(), "monitor")) {
            String warning = "writer db1 has max_connections=100, below quotas.max-total 250 plus 2 monitor connections: "
                    + "raise max_connections to at least 252 or lower quotas.max-total";
            await().atMost(Duration.ofSeconds(10)).until(() -> cli(baton, "status").out().contains("warning:     " + warning));
            assertTrue(cli(baton, "health").out().contains(warning), cli(baton, "health").out());
            Cli check = cli(baton, "check");
            assertEquals(1, check.exit(), check.out());
            assertTrue(check.out().contains("PASS  node reachable and writable: db1 answered the monitor's last check at "),
                    check.out());
            assertTrue(check.out().contains("FAIL  max_connections on db1: max_connections=100; needs at least 252 "
                    + "(quotas.max-total plus Baton's monitor connections)"), check.out());
            assertTrue(check.out().contains("PASS  one writer: every session goes to db1 (epoch 1)"), check.out());

            db.sql("SET GLOBAL max_connections = 300");
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> !cli(baton, "status").out().contains("warning:"));
                Cli passed = cli(baton, "check");
                assertEquals(0, passed.exit(), passed.out());
                assertTrue(passed.out().contains("PASS  max_connections on db1: max_connections=300; needs at least 252"),
                        passed.out());
            } finally {
                db.sql("SET GLOBAL max_connections = 100");
            }
        }
    }

    @Test
    void aMonitorUserThatCannotLogInShowsTheServerDownWithTheServersAnswer() {
        try (RunningBaton baton = monitored(db.port(), "wrong")) {
            await().atMost(Duration.ofSeconds(10)).until(() -> nodeLine(baton).contains(" down* "));
            assertTrue(nodeLine(baton).contains("Access denied for user 'baton_monitor'"), nodeLine(baton));
        }
    }

    @Test
    void withoutAMonitorUserTheServerIsNotMonitoredAndTheCheckSaysSo() throws Exception {
        try (RunningBaton baton = RunningBaton.inFrontOf(db)) {
            String line = nodeLine(baton);
            assertTrue(line.contains(" unmonitored* "), line);
            assertTrue(line.contains("not monitored (no monitor user: cluster.monitor is not configured)"), line);
            assertFalse(baton.proxy().scrapeMetrics().contains("baton_node_up"), "no health series without checks");
            Cli check = cli(baton, "check");
            assertEquals(0, check.exit(), check.out());
            assertTrue(check.out().contains("WARN  node reachable and writable: not monitored (no monitor user: "
                    + "cluster.monitor is not configured); add cluster.monitor (user and password) so Baton checks db1 "
                    + "and its max_connections"), check.out());
            assertEquals("1", selectOne(baton));
        }
    }
}
