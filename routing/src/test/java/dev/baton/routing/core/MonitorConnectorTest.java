package dev.baton.routing.core;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.ProxyProtocolVersion;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * How a failed check reads to an operator, classified by the exception's causes, not its wording; and the PROXY
 * protocol header a monitor connection starts with.
 */
class MonitorConnectorTest {
    private static final MonitorConnector CONNECTOR = new MonitorConnector(new ClusterSpec.MonitorSettings("baton_monitor",
            "secret", Duration.ofSeconds(2), Duration.ofMillis(1500), 3, 2));

    private static SQLException linkFailure(Throwable cause) {
        return new SQLNonTransientConnectionException("Communications link failure\n\nThe last packet sent ...",
                "08S01", 0, new RuntimeException("wrapped by the driver", cause));
    }

    @Test
    void withProxyProtocolOnEveryMonitorConnectionStartsWithAHeaderNamingBatonsOwnAddress() throws Exception {
        for (ProxyProtocolVersion version : List.of(ProxyProtocolVersion.V1, ProxyProtocolVersion.V2)) {
            try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                MonitorConnector connector = new MonitorConnector(new ClusterSpec.MonitorSettings("baton_monitor", "secret",
                        Duration.ofSeconds(2), Duration.ofMillis(1500), 3, 2), version);
                CompletableFuture<SQLException> failed = CompletableFuture.supplyAsync(() -> assertThrows(SQLException.class,
                        () -> connector.connect(new Node("db1", new HostPort("127.0.0.1", server.getLocalPort()), 1)).close()));
                try (Socket accepted = server.accept()) {
                    accepted.setSoTimeout(5000);
                    byte[] expected = ProxyHeader.of(version, (InetSocketAddress) accepted.getRemoteSocketAddress(),
                            (InetSocketAddress) accepted.getLocalSocketAddress());
                    assertArrayEquals(expected, accepted.getInputStream().readNBytes(expected.length),
                            version + ": the first bytes, before any greeting, are the header naming the monitor's socket");
                }
                failed.get(10, TimeUnit.SECONDS); // a server that never greets: the connect fails, as it should
            }
        }
    }

    @Test
    void withProxyProtocolOffTheMonitorSendsNothingBeforeTheGreeting() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            MonitorConnector connector = new MonitorConnector(new ClusterSpec.MonitorSettings("baton_monitor", "secret",
                    Duration.ofSeconds(2), Duration.ofMillis(500), 3, 2), ProxyProtocolVersion.OFF);
            CompletableFuture<SQLException> failed = CompletableFuture.supplyAsync(() -> assertThrows(SQLException.class,
                    () -> connector.connect(new Node("db1", new HostPort("127.0.0.1", server.getLocalPort()), 1)).close()));
            try (Socket accepted = server.accept()) {
                accepted.setSoTimeout(3000);
                assertEquals(-1, accepted.getInputStream().read(), "the client waits for the greeting, then gives up");
            }
            failed.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aTimedOutConnectOrReadIsNoAnswerWithinTheTimeout() {
        assertEquals("no answer within 1500 ms", CONNECTOR.describe(linkFailure(new SocketTimeoutException("Read timed out"))));
        assertEquals("no answer within 1500 ms", CONNECTOR.describe(linkFailure(new SocketTimeoutException("Connect timed out"))));
    }

    @Test
    void aRefusedConnectionSaysSo() {
        assertEquals("connection refused", CONNECTOR.describe(linkFailure(new ConnectException("Connection refused"))));
    }

    @Test
    void anotherNetworkFailureNamesItsRootCause() {
        assertEquals("unreachable: db9.example: Name or service not known",
                CONNECTOR.describe(linkFailure(new UnknownHostException("db9.example: Name or service not known"))));
    }

    @Test
    void aServerErrorKeepsItsFirstLine() {
        assertEquals("Access denied for user 'baton_monitor'@'127.0.0.1' (using password: YES)",
                CONNECTOR.describe(new SQLException("Access denied for user 'baton_monitor'@'127.0.0.1' (using password: YES)\nmore",
                        "28000", 1045)));
    }
}
