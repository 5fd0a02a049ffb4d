package dev.baton.routing.galera;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import dev.baton.routing.core.MonitorConnector;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One health check of one Galera node over Connector/J: a fresh monitor connection ({@link MonitorConnector}), a
 * few queries, then a clean close.
 */
public final class GaleraProbe implements dev.baton.routing.core.NodeProbe {
    private static final String STATUS = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state',"
            + "'wsrep_local_state_comment','wsrep_ready','wsrep_cluster_status','wsrep_local_index','wsrep_cluster_size',"
            + "'wsrep_incoming_addresses','wsrep_flow_control_paused','wsrep_local_recv_queue','wsrep_gcomm_uuid')";
    private static final String MEMBERS = "SELECT node_uuid FROM mysql.wsrep_cluster_members";
    private static final String VARIABLES = "SELECT @@global.read_only, @@global.wsrep_desync, @@global.wsrep_reject_queries, "
            + "@@global.max_connections, @@global.binlog_format, @@global.innodb_autoinc_lock_mode";

    private final MonitorConnector connector;
    private final Clock clock;

    public GaleraProbe(ClusterSpec.MonitorSettings settings, Clock clock) {
        this(new MonitorConnector(settings), clock);
    }

    /** A probe that connects with {@code connector} (which carries the cluster's PROXY protocol setting). */
    public GaleraProbe(MonitorConnector connector, Clock clock) {
        this.connector = connector;
        this.clock = clock;
    }

    @Override
    public GaleraNodeState check(Node node) {
        try (Connection c = connect(node); Statement s = c.createStatement()) {
            Map<String, String> status = new HashMap<>();
            try (ResultSet rs = s.executeQuery(STATUS)) {
                while (rs.next()) {
                    status.put(rs.getString(1).toLowerCase(), rs.getString(2));
                }
            }
            Set<String> members = members(s);
            try (ResultSet rs = s.executeQuery(VARIABLES)) {
                rs.next();
                return new GaleraNodeState(clock.instant(), null,
                        intOf(status.get("wsrep_local_state"), -1), status.get("wsrep_local_state_comment"),
                        "ON".equalsIgnoreCase(status.get("wsrep_ready")), status.get("wsrep_cluster_status"),
                        rs.getBoolean(2), rs.getString(3), rs.getBoolean(1),
                        intOf(status.get("wsrep_local_index"), -1), intOf(status.get("wsrep_cluster_size"), 0),
                        addresses(status.get("wsrep_incoming_addresses")),
                        doubleOf(status.get("wsrep_flow_control_paused")), longOf(status.get("wsrep_local_recv_queue")),
                        rs.getLong(4), status.get("wsrep_gcomm_uuid"), members,
                        java.util.Map.of("binlog_format", String.valueOf(rs.getString(5)),
                                "innodb_autoinc_lock_mode", String.valueOf(rs.getString(6))));
            }
        } catch (SQLException e) {
            return GaleraNodeState.unreachable(clock.instant(), connector.describe(e));
        }
    }

    /** A monitor connection to {@code node}, with the check's timeouts. */
    Connection connect(Node node) throws SQLException {
        return connector.connect(node);
    }

    /** A monitor connection whose reads may take {@code readTimeout} (see {@link MonitorConnector#connect(Node, Duration)}). */
    public Connection connect(Node node, Duration readTimeout) throws SQLException {
        return connector.connect(node, readTimeout);
    }

    /**
     * The member ids of the node's current view. Empty when the monitor user may not read the table (it needs
     * SELECT on mysql.wsrep_cluster_members) or the server has none: the election then falls back to addresses.
     */
    private static Set<String> members(Statement s) {
        Set<String> ids = new LinkedHashSet<>();
        try (ResultSet rs = s.executeQuery(MEMBERS)) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        } catch (SQLException e) {
            return Set.of();
        }
        return ids;
    }

    private static Set<String> addresses(String value) {
        if (value == null || value.isBlank()) {
            return Set.of();
        }
        return Arrays.stream(value.split(",")).map(String::trim).filter(a -> !a.isEmpty())
                .collect(Collectors.toCollection(LinkedHashSet::new));
    }

    private static int intOf(String v, int fallback) {
        try {
            return v == null ? fallback : Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private static long longOf(String v) {
        try {
            return v == null ? 0 : Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static double doubleOf(String v) {
        try {
            return v == null ? 0 : Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
