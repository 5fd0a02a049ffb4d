package dev.baton.it;

import com.mysql.cj.conf.PropertySet;
import com.mysql.cj.protocol.StandardSocketFactory;
import dev.baton.it.fixture.LocalMariaDb;
import dev.baton.it.fixture.RunningBaton;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.ProxyProtocolVersion;
import dev.baton.routing.core.MonitorConnector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A MariaDB that trusts Baton's address with PROXY protocol headers ({@code proxy_protocol_networks=127.0.0.1}) and
 * knows an account only from the application server's address, 127.0.0.2: with {@code cluster.proxy-protocol} on,
 * a client on that address logs in through Baton as that account; with it off the server sees Baton and refuses the
 * login. A client a trusted load balancer names reaches the server under the name the load balancer gave, and the
 * monitor's connections, which name Baton, are accepted.
 */
class ProxyProtocolOutIT {
    private static LocalMariaDb db;

    @BeforeAll
    static void start() {
        db = LocalMariaDb.start("pp-out", List.of("proxy_protocol_networks=127.0.0.1"));
        db.sql("CREATE USER 'origin'@'127.0.0.2' IDENTIFIED BY 'origin'; GRANT ALL ON baton_test.* TO 'origin'@'127.0.0.2';"
                + "CREATE USER 'origin'@'127.0.0.9' IDENTIFIED BY 'origin'; GRANT ALL ON baton_test.* TO 'origin'@'127.0.0.9';"
                + "CREATE USER 'pp_monitor'@'127.0.0.1' IDENTIFIED BY 'monitor'");
    }

    @AfterAll
    static void stop() {
        db.close();
    }

    private static RunningBaton baton(ProxyProtocolVersion version) {
        BatonConfig config = RunningBaton.single(new HostPort(db.host(), db.port()));
        return RunningBaton.start(config.withCluster(config.clusterType(), config.cluster().withProxyProtocol(version)));
    }

    private static String user(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT USER()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static Connection fromAppServer(RunningBaton baton) throws SQLException {
        return DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&localSocketAddress=127.0.0.2"),
                "origin", "origin");
    }

    @Test
    void withVersion2TheServerSeesTheApplicationServersAddress() throws Exception {
        try (RunningBaton baton = baton(ProxyProtocolVersion.V2); Connection c = fromAppServer(baton)) {
            assertEquals("origin@127.0.0.2", user(c));
        }
    }

    @Test
    void withVersion1TheServerSeesTheApplicationServersAddress() throws Exception {
        try (RunningBaton baton = baton(ProxyProtocolVersion.V1); Connection c = fromAppServer(baton)) {
            assertEquals("origin@127.0.0.2", user(c));
        }
    }

    @Test
    void withProxyProtocolOffTheServerSeesBatonAndRefusesAnAccountOfTheApplicationServer() {
        try (RunningBaton baton = baton(ProxyProtocolVersion.OFF)) {
            SQLException e = assertThrows(SQLException.class, () -> fromAppServer(baton).close());
            assertEquals(1045, e.getErrorCode());
            assertEquals("Access denied for user 'origin'@'127.0.0.1' (using password: YES)", e.getMessage());
        }
    }

    @Test
    void aClientNamedByATrustedLoadBalancerIsWhoTheServerSees() throws Exception {
        BatonConfig config = RunningBaton.single(new HostPort(db.host(), db.port()));
        config = config.withCluster(config.clusterType(), config.cluster().withProxyProtocol(ProxyProtocolVersion.V2))
                .withProxyProtocol(new BatonConfig.ProxyProtocol(List.of("127.0.0.1"), true));
        try (RunningBaton baton = RunningBaton.start(config);
             Connection c = DriverManager.getConnection(baton.mysqlUrl("baton_test", "sslMode=DISABLED&socketFactory="
                     + LoadBalancedSocketFactory.class.getName()), "origin", "origin")) {
            assertEquals("origin@127.0.0.9", user(c), "the load balancer's client, not the load balancer (127.0.0.1)");
        }
    }

    @Test
    void theMonitorsConnectionsNameBatonAndAreAccepted() throws Exception {
        for (ProxyProtocolVersion version : List.of(ProxyProtocolVersion.V1, ProxyProtocolVersion.V2)) {
            MonitorConnector monitor = new MonitorConnector(new ClusterSpec.MonitorSettings("pp_monitor", "monitor",
                    Duration.ofMillis(500), Duration.ofSeconds(2), 3, 2), version);
            try (Connection c = monitor.connect(new Node("db1", new HostPort(db.host(), db.port()), 1))) {
                assertEquals("pp_monitor@127.0.0.1", user(c), version.configName());
            }
        }
    }

    /**
     * A client behind a load balancer, as Baton receives it: the connection comes from 127.0.0.1 and starts with the
     * load balancer's v1 header naming the client 127.0.0.9. Connector/J makes it by class name.
     */
    public static final class LoadBalancedSocketFactory extends StandardSocketFactory {
        @Override
        public <T extends Closeable> T connect(String host, int port, PropertySet props, int loginTimeout) throws IOException {
            T connected = super.connect(host, port, props, loginTimeout);
            rawSocket.getOutputStream().write(("PROXY TCP4 127.0.0.9 127.0.0.1 40123 " + port + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            rawSocket.getOutputStream().flush();
            return connected;
        }
    }
}
