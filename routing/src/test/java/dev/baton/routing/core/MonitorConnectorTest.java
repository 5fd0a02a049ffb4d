package dev.baton.routing.core;

import dev.baton.routing.ClusterSpec;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How a failed check reads to an operator, classified by the exception's causes, not its wording. */
class MonitorConnectorTest {
    private static final MonitorConnector CONNECTOR = new MonitorConnector(new ClusterSpec.MonitorSettings("baton_monitor",
            "secret", Duration.ofSeconds(2), Duration.ofMillis(1500), 3, 2));

    private static SQLException linkFailure(Throwable cause) {
        return new SQLNonTransientConnectionException("Communications link failure\n\nThe last packet sent ...",
                "08S01", 0, new RuntimeException("wrapped by the driver", cause));
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
