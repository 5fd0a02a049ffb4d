package dev.baton.routing.replication;

import dev.baton.routing.core.CheckVerdict;
import dev.baton.routing.core.NodeCheck;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What one check of a node of a MariaDB primary/replica cluster saw: whether it is writable, whom it replicates from
 * and how well, its GTID positions, semi-sync state and the settings replication depends on. Groundwork for the
 * primary/replica topology: it reports, it does not decide who becomes the primary.
 *
 * @param error           why the check failed (unreachable, timeout, access denied), or null if the node answered;
 *                        when not null, every other field is empty, false or zero
 * @param serverId        {@code @@server_id}
 * @param readOnly        {@code @@read_only}
 * @param gtidBinlogPos   {@code @@gtid_binlog_pos}: the last transaction of each domain in the node's binary log
 * @param gtidCurrentPos  {@code @@gtid_current_pos}: the last transaction of each domain applied or written here
 * @param gtidSlavePos    {@code @@gtid_slave_pos}: the last transaction of each domain applied by replication
 * @param sources         one entry per row of {@code SHOW ALL SLAVES STATUS} (a multi-source replica has several;
 *                        the default connection is named ""), empty if the node replicates from nobody
 * @param semiSync        the semi-synchronous replication state of both sides
 * @param maxConnections  {@code @@max_connections}
 * @param settings        server settings that replication and a later promotion depend on, by variable name:
 *                        {@code binlog_format}, {@code gtid_strict_mode}, {@code log_slave_updates}, {@code log_bin},
 *                        {@code slave_net_timeout} (seconds), {@code rpl_semi_sync_master_timeout} (milliseconds)
 *                        (values as the server prints them); empty if unread
 * @param record          Baton's books as this node holds them ({@link NodeRecord#NONE} when not read)
 */
public record ReplicationNodeState(Instant checkedAt, String error, long serverId, boolean readOnly,
                                   GtidPosition gtidBinlogPos, GtidPosition gtidCurrentPos, GtidPosition gtidSlavePos,
                                   List<Source> sources, SemiSync semiSync, long maxConnections,
                                   Map<String, String> settings, NodeRecord record) implements NodeCheck {

    /** A state without Baton's books (read by a check that does not read them). */
    public ReplicationNodeState(Instant checkedAt, String error, long serverId, boolean readOnly,
                                GtidPosition gtidBinlogPos, GtidPosition gtidCurrentPos, GtidPosition gtidSlavePos,
                                List<Source> sources, SemiSync semiSync, long maxConnections,
                                Map<String, String> settings) {
        this(checkedAt, error, serverId, readOnly, gtidBinlogPos, gtidCurrentPos, gtidSlavePos, sources, semiSync,
                maxConnections, settings, NodeRecord.NONE);
    }

    /** What a node is in its replication topology, as it reports itself. */
    public enum Role {
        /** Writable ({@code read_only} OFF) and replicating from nobody. */
        PRIMARY,
        /** Has a replication source configured, whether or not its threads run right now. */
        REPLICA,
        /** Did not answer, or read-only while replicating from nobody (a stand-alone or fenced node). */
        UNKNOWN
    }

    /** The state of a replication thread as {@code Slave_IO_Running} / {@code Slave_SQL_Running} print it. */
    public enum ThreadState {
        /** "Yes". */
        RUNNING,
        /** "Connecting" (or "Preparing", just started): the IO thread is (re)connecting to its source. */
        CONNECTING,
        /** "No": stopped, by {@code STOP SLAVE} or an error. */
        STOPPED;

        /** Reads the server's Yes / Connecting / No (anything else, or null, as stopped). */
        public static ThreadState of(String value) {
            if ("Yes".equalsIgnoreCase(value)) {
                return RUNNING;
            }
            // MariaDB shows "Preparing" while a just-started IO thread sets itself up, before "Connecting".
            return "Connecting".equalsIgnoreCase(value) || "Preparing".equalsIgnoreCase(value) ? CONNECTING : STOPPED;
        }
    }

    /**
     * One replication connection of the node (one row of {@code SHOW ALL SLAVES STATUS}).
     *
     * @param connectionName      {@code Connection_name}, "" for the default connection
     * @param sourceHost          {@code Master_Host}
     * @param sourcePort          {@code Master_Port}
     * @param ioThread            {@code Slave_IO_Running}
     * @param sqlThread           {@code Slave_SQL_Running}
     * @param lastIoError         {@code Last_IO_Error}, "" if none
     * @param lastSqlError        {@code Last_SQL_Error}, "" if none
     * @param secondsBehindSource {@code Seconds_Behind_Master}; empty when the server reports NULL (SQL thread not
     *                            running, or the IO thread not connected)
     * @param gtidIoPos           {@code Gtid_IO_Pos}: the last transaction of each domain received into the relay log
     *                            (MariaDB has no {@code @@gtid_io_pos} variable)
     * @param readSourceLog       {@code Master_Log_File}:{@code Read_Master_Log_Pos}, how far the IO thread has read
     * @param execSourceLog       {@code Relay_Master_Log_File}:{@code Exec_Master_Log_Pos}, how far the SQL thread
     *                            has applied, in the source's binary log coordinates
     * @param usingGtid           {@code Using_Gtid}: No, Slave_Pos or Current_Pos
     * @param sourceServerId      {@code Master_Server_Id}: the {@code server_id} of the source its IO thread last
     *                            connected to, 0 if it never did since its source was set
     */
    public record Source(String connectionName, String sourceHost, int sourcePort, ThreadState ioThread,
                         ThreadState sqlThread, String lastIoError, String lastSqlError,
                         OptionalLong secondsBehindSource, GtidPosition gtidIoPos, String readSourceLog,
                         String execSourceLog, String usingGtid, long sourceServerId) {

        /** A source whose server id is not known. */
        public Source(String connectionName, String sourceHost, int sourcePort, ThreadState ioThread,
                      ThreadState sqlThread, String lastIoError, String lastSqlError,
                      OptionalLong secondsBehindSource, GtidPosition gtidIoPos, String readSourceLog,
                      String execSourceLog, String usingGtid) {
            this(connectionName, sourceHost, sourcePort, ioThread, sqlThread, lastIoError, lastSqlError,
                    secondsBehindSource, gtidIoPos, readSourceLog, execSourceLog, usingGtid, 0);
        }

        /** {@code host:port} of the source, as an operator would write it. */
        public String sourceAddress() {
            return sourceHost + ":" + sourcePort;
        }

        /** Both threads run. */
        public boolean replicating() {
            return ioThread == ThreadState.RUNNING && sqlThread == ThreadState.RUNNING;
        }
    }

    /**
     * Semi-synchronous replication as the node reports it.
     *
     * @param sourceEnabled {@code @@rpl_semi_sync_master_enabled}: as a primary, it would wait for acknowledgements
     * @param sourceActive  {@code Rpl_semi_sync_master_status}: it waits for them now (OFF after it fell back to
     *                      asynchronous replication on a timeout)
     * @param sourceClients {@code Rpl_semi_sync_master_clients}: semi-sync replicas connected to it
     * @param replicaEnabled {@code @@rpl_semi_sync_slave_enabled}: as a replica, it would acknowledge
     * @param replicaActive {@code Rpl_semi_sync_slave_status}: its IO thread acknowledges now
     */
    public record SemiSync(boolean sourceEnabled, boolean sourceActive, long sourceClients, boolean replicaEnabled,
                           boolean replicaActive) {
        public static final SemiSync OFF = new SemiSync(false, false, 0, false, false);
    }

    public ReplicationNodeState {
        sources = List.copyOf(sources);
        settings = Map.copyOf(settings);
        record = record == null ? NodeRecord.NONE : record;
    }

    /** A check that got no answer. */
    public static ReplicationNodeState unreachable(Instant at, String error) {
        return new ReplicationNodeState(at, error, 0, false, GtidPosition.EMPTY, GtidPosition.EMPTY, GtidPosition.EMPTY,
                List.of(), SemiSync.OFF, 0, Map.of(), NodeRecord.NONE);
    }

    /** True if the node's default connection replicates (or tries to) from {@code address}. */
    public boolean replicatesFrom(dev.baton.routing.HostPort address) {
        return replicatesFrom(address, 0);
    }

    /**
     * True if the node's default connection replicates (or tries to) from the node at {@code address}, or from the
     * server whose {@code server_id} is {@code serverId} (when not 0): replicas may know their source by another
     * address than Baton's config does (a private network, a name instead of an IP).
     */
    public boolean replicatesFrom(dev.baton.routing.HostPort address, long serverId) {
        return defaultSource().map(s -> s.sourceHost().equalsIgnoreCase(address.host()) && s.sourcePort() == address.port()
                || serverId != 0 && s.sourceServerId() == serverId).orElse(false);
    }

    public boolean reachable() {
        return error == null;
    }

    /** The default replication connection (named ""), if the node has one. */
    public Optional<Source> defaultSource() {
        return sources.stream().filter(s -> s.connectionName().isEmpty()).findFirst();
    }

    /**
     * {@link Role#PRIMARY} if the node answered, is writable and replicates from nobody; {@link Role#REPLICA} if it
     * answered and has any replication source configured (even with its threads stopped or failing, and even if it
     * is writable: a source configured on a writable node is a fault, not a primary); {@link Role#UNKNOWN} otherwise.
     */
    public Role role() {
        if (!reachable()) {
            return Role.UNKNOWN;
        }
        if (!sources.isEmpty()) {
            return Role.REPLICA;
        }
        return readOnly ? Role.UNKNOWN : Role.PRIMARY;
    }

    /**
     * True if the default connection's SQL thread has applied everything its IO thread received: its
     * {@code gtid_slave_pos} contains {@code Gtid_IO_Pos} when replicating by GTID, else the executed source log
     * position equals the read one. False if the node has no default connection.
     */
    public boolean relayLogApplied() {
        return defaultSource().map(s -> "No".equalsIgnoreCase(s.usingGtid())
                ? s.execSourceLog().equals(s.readSourceLog())
                : gtidSlavePos.contains(s.gtidIoPos())).orElse(false);
    }

    /**
     * Null if the node may take writes as it is now; otherwise the first reason it may not, in an operator's words:
     * the check's error, a configured replication source, or {@code read_only}.
     */
    public String whyNotWritable() {
        if (!reachable()) {
            return error;
        }
        if (!sources.isEmpty()) {
            Source s = defaultSource().orElse(sources.get(0));
            return "replicates from " + s.sourceAddress() + " (IO thread " + s.ioThread().name().toLowerCase()
                    + ", SQL thread " + s.sqlThread().name().toLowerCase() + ")";
        }
        if (readOnly) {
            return "read_only is ON";
        }
        return null;
    }

    /**
     * The node's health in its role, which the core's hysteresis counts: {@link CheckVerdict.NoAnswer} if the check
     * failed (this says nothing about the node); {@link CheckVerdict.Unfit} if it answered but can serve in no role:
     * its SQL thread stopped on an error, it replicates yet is writable, or it is read-only and replicates from
     * nobody (a fenced or stand-alone node); {@link CheckVerdict.Writable} ("fit") for a primary, and for a replica
     * whose SQL thread applies, even if its IO thread lost its source: that is evidence about the source, not about
     * this node. Whether a node may take writes is {@link #role()}; whether a replica should be promoted is the
     * election's call, from positions, not one check's.
     */
    @Override
    public CheckVerdict verdict() {
        if (!reachable()) {
            return new CheckVerdict.NoAnswer(error);
        }
        String why = whyUnfit();
        return why == null ? new CheckVerdict.Writable() : new CheckVerdict.Unfit(why);
    }

    /** Null if the node is fit for its role (see {@link #verdict()}), else why not, in an operator's words. */
    public String whyUnfit() {
        if (!reachable()) {
            return error;
        }
        if (sources.isEmpty()) {
            return readOnly ? "read_only is ON and it replicates from nobody" : null;
        }
        Source s = defaultSource().orElse(sources.get(0));
        if (!s.lastSqlError().isEmpty() || s.sqlThread() == ThreadState.STOPPED) {
            return "replication from " + s.sourceAddress() + " stopped applying"
                    + (s.lastSqlError().isEmpty() ? " (SQL thread stopped)" : ": " + s.lastSqlError());
        }
        if (!readOnly) {
            return "replicates from " + s.sourceAddress() + " but read_only is OFF";
        }
        return null;
    }

    @Override
    public String upDescription() {
        return role() == Role.PRIMARY ? "up (primary, writable)"
                : "up (replica of " + defaultSource().orElse(sources.get(0)).sourceAddress() + ")";
    }

    /** {@code server_id}: the same for this node on every instance (unanswered checks order last). */
    @Override
    public int electionOrder() {
        return !reachable() || serverId > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) serverId;
    }

    /** MariaDB has no per-run member id of a replication node (no {@code server_uuid}): always empty. */
    @Override
    public Optional<String> memberId() {
        return Optional.empty();
    }
}
