package dev.baton.routing.single;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import dev.baton.routing.core.MonitorConnector;
import dev.baton.routing.core.NodeProbe;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.Map;

/**
 * One check of the server of a {@code single} cluster over Connector/J: a fresh monitor connection
 * ({@link MonitorConnector}), one read of global variables, which needs no privilege beyond logging in, then a clean
 * close.
 */
public final class SingleNodeProbe implements NodeProbe {
    private static final String VARIABLES = "SELECT @@global.read_only, @@global.max_connections, @@version";

    private final MonitorConnector connector;
    private final Clock clock;

    /** A probe whose connections follow {@code spec}'s monitor settings and its PROXY protocol towards the servers. */
    public SingleNodeProbe(ClusterSpec spec, Clock clock) {
        this.connector = MonitorConnector.of(spec);
        this.clock = clock;
    }

    @Override
    public SingleNodeState check(Node node) {
        try (Connection c = connector.connect(node); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(VARIABLES)) {
            rs.next();
            return new SingleNodeState(clock.instant(), null, rs.getBoolean(1), rs.getLong(2),
                    Map.of("version", String.valueOf(rs.getString(3))));
        } catch (SQLException e) {
            return SingleNodeState.unreachable(clock.instant(), connector.describe(e));
        }
    }
}
