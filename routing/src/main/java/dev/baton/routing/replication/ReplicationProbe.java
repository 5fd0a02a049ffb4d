package dev.baton.routing.replication;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import dev.baton.routing.core.MonitorConnector;
import dev.baton.routing.core.NodeProbe;
import dev.baton.routing.record.SqlWriterRecordStore;
import dev.baton.routing.replication.ReplicationNodeState.SemiSync;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * One check of one node of a MariaDB primary/replica cluster over Connector/J: a fresh monitor connection
 * ({@link MonitorConnector}), four reads ({@code @@global} variables, semi-sync status, {@code SHOW ALL SLAVES
 * STATUS}, Baton's books as this node holds them), then a clean close. Needs {@code SLAVE MONITOR} for the third and
 * {@code SELECT} on the books' schema for the last; the others need no privilege.
 */
public final class ReplicationProbe implements NodeProbe {
    private static final String VARIABLES = "SELECT @@global.server_id, @@global.read_only, @@global.gtid_binlog_pos,"
            + " @@global.gtid_current_pos, @@global.gtid_slave_pos, @@global.max_connections,"
            + " @@global.rpl_semi_sync_master_enabled, @@global.rpl_semi_sync_slave_enabled, @@global.binlog_format,"
            + " @@global.gtid_strict_mode, @@global.log_slave_updates, @@global.log_bin, @@global.slave_net_timeout,"
            + " @@global.rpl_semi_sync_master_timeout";
    private static final String SEMI_SYNC = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status',"
            + "'Rpl_semi_sync_master_clients','Rpl_semi_sync_slave_status')";
    private static final String SOURCES = "SHOW ALL SLAVES STATUS";

    private final MonitorConnector connector;
    private final SqlWriterRecordStore books;
    private final Clock clock;

    /** A probe that reads Baton's books from {@code schema} ({@code cluster.schema}) on every check. */
    public ReplicationProbe(ClusterSpec.MonitorSettings settings, String schema, Clock clock) {
        this(new MonitorConnector(settings), settings, schema, clock);
    }

    /** A probe that connects with {@code connector} (which carries the cluster's PROXY protocol setting). */
    public ReplicationProbe(MonitorConnector connector, ClusterSpec.MonitorSettings settings, String schema, Clock clock) {
        this.connector = connector;
        this.books = new SqlWriterRecordStore(schema, connector::connect, settings.timeout());
        this.clock = clock;
    }

    /** A probe that reads Baton's books from the default schema {@code baton}. */
    public ReplicationProbe(ClusterSpec.MonitorSettings settings, Clock clock) {
        this(settings, "baton", clock);
    }

    @Override
    public ReplicationNodeState check(Node node) {
        try (Connection c = connector.connect(node); Statement s = c.createStatement()) {
            Map<String, String> status = new HashMap<>();
            try (ResultSet rs = s.executeQuery(SEMI_SYNC)) {
                while (rs.next()) {
                    status.put(rs.getString(1).toLowerCase(), rs.getString(2));
                }
            }
            List<Source> sources = new ArrayList<>();
            try (ResultSet rs = s.executeQuery(SOURCES)) {
                while (rs.next()) {
                    sources.add(source(rs));
                }
            }
            ReplicationNodeState state;
            try (ResultSet rs = s.executeQuery(VARIABLES)) {
                rs.next();
                SemiSync semiSync = new SemiSync(rs.getBoolean(7), "ON".equalsIgnoreCase(status.get("rpl_semi_sync_master_status")),
                        count(status.get("rpl_semi_sync_master_clients")), rs.getBoolean(8),
                        "ON".equalsIgnoreCase(status.get("rpl_semi_sync_slave_status")));
                state = new ReplicationNodeState(clock.instant(), null, rs.getLong(1), rs.getBoolean(2),
                        GtidPosition.parse(rs.getString(3)), GtidPosition.parse(rs.getString(4)),
                        GtidPosition.parse(rs.getString(5)), sources, semiSync, rs.getLong(6),
                        Map.of("binlog_format", String.valueOf(rs.getString(9)),
                                "gtid_strict_mode", onOff(rs.getString(10)),
                                "log_slave_updates", onOff(rs.getString(11)),
                                "log_bin", onOff(rs.getString(12)),
                                "slave_net_timeout", String.valueOf(rs.getString(13)),
                                "rpl_semi_sync_master_timeout", String.valueOf(rs.getString(14))),
                        NodeRecord.NONE);
            }
            return withRecord(state, record(c, node));
        } catch (SQLException e) {
            return ReplicationNodeState.unreachable(clock.instant(), connector.describe(e));
        } catch (IllegalArgumentException e) {
            // a position or number the server printed in a form this check does not know: an answer, but unreadable
            return ReplicationNodeState.unreachable(clock.instant(), "unreadable answer from " + node + ": " + e.getMessage());
        }
    }

    /**
     * The books as this node holds them: {@link NodeRecord#NONE} where they do not exist yet, unreadable (with the
     * reason) on any other failure, which leaves the rest of the check standing.
     */
    private NodeRecord record(Connection c, Node node) {
        try {
            SqlWriterRecordStore.Books b = books.readBooks(c);
            return new NodeRecord(b.writer(), b.maintenance(), b.promotion().map(p ->
                    new NodeRecord.Promotion(p.epoch(), p.node(), GtidPosition.parse(p.position()))), null);
        } catch (SQLException e) {
            return SqlWriterRecordStore.missingBooks(e) ? NodeRecord.NONE
                    : NodeRecord.unreadable("reading Baton's books on " + node.name() + " failed: " + connector.describe(e));
        } catch (IllegalArgumentException e) {
            return NodeRecord.unreadable("unreadable promotion on " + node.name() + ": " + e.getMessage());
        }
    }

    private static ReplicationNodeState withRecord(ReplicationNodeState s, NodeRecord record) {
        return new ReplicationNodeState(s.checkedAt(), s.error(), s.serverId(), s.readOnly(), s.gtidBinlogPos(),
                s.gtidCurrentPos(), s.gtidSlavePos(), s.sources(), s.semiSync(), s.maxConnections(), s.settings(), record);
    }

    private static Source source(ResultSet rs) throws SQLException {
        String behind = rs.getString("Seconds_Behind_Master");
        return new Source(rs.getString("Connection_name"), rs.getString("Master_Host"), rs.getInt("Master_Port"),
                ThreadState.of(rs.getString("Slave_IO_Running")), ThreadState.of(rs.getString("Slave_SQL_Running")),
                nullToEmpty(rs.getString("Last_IO_Error")), nullToEmpty(rs.getString("Last_SQL_Error")),
                behind == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(behind.trim())),
                GtidPosition.parse(rs.getString("Gtid_IO_Pos")),
                rs.getString("Master_Log_File") + ":" + rs.getString("Read_Master_Log_Pos"),
                rs.getString("Relay_Master_Log_File") + ":" + rs.getString("Exec_Master_Log_Pos"),
                rs.getString("Using_Gtid"), rs.getLong("Master_Server_Id"));
    }

    /** Boolean server variables read as text: Connector/J gives "1"/"0" for some and "ON"/"OFF" for others. */
    private static String onOff(String value) {
        return "1".equals(value) || "ON".equalsIgnoreCase(value) ? "ON" : "0".equals(value) || "OFF".equalsIgnoreCase(value)
                ? "OFF" : String.valueOf(value);
    }

    private static long count(String value) {
        return value == null || value.isBlank() ? 0 : Long.parseLong(value.trim());
    }

    private static String nullToEmpty(String value) {
        return value == null ? "" : value;
    }
}
