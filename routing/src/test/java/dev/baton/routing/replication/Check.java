package dev.baton.routing.replication;

import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.core.HealthState;
import dev.baton.routing.core.NodeHealth;
import dev.baton.routing.replication.ReplicationNodeState.SemiSync;
import dev.baton.routing.replication.ReplicationNodeState.Source;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/** Builds one {@link ReplicationNodeState} as a test describes it: "db2 replicates from db1, IO thread connecting". */
final class Check {
    static final Node DB1 = new Node("db1", new HostPort("127.0.0.1", 3311), 1);
    static final Node DB2 = new Node("db2", new HostPort("127.0.0.1", 3312), 2);
    static final Node DB3 = new Node("db3", new HostPort("127.0.0.1", 3313), 3);

    private final Instant at;
    private long serverId;
    private boolean readOnly;
    private GtidPosition binlog = GtidPosition.EMPTY;
    private GtidPosition current = GtidPosition.EMPTY;
    private final List<Source> sources = new ArrayList<>();
    private SemiSync semiSync = SemiSync.OFF;
    private NodeRecord record = NodeRecord.NONE;

    private Check(Instant at, long serverId) {
        this.at = at;
        this.serverId = serverId;
    }

    /** A node that answered at {@code at}, writable, replicating from nobody, with nothing written yet. */
    static Check at(Instant at, long serverId) {
        return new Check(at, serverId);
    }

    static ReplicationNodeState unreachable(Instant at) {
        return ReplicationNodeState.unreachable(at, "connection refused");
    }

    Check readOnly(boolean on) {
        readOnly = on;
        return this;
    }

    /** Both {@code gtid_binlog_pos} and {@code gtid_current_pos}. */
    Check holds(String position) {
        binlog = GtidPosition.parse(position);
        current = binlog;
        return this;
    }

    Check binlog(String position) {
        binlog = GtidPosition.parse(position);
        return this;
    }

    Check current(String position) {
        current = GtidPosition.parse(position);
        return this;
    }

    /** Read-only, replicating from {@code from} by GTID with both threads as given, received up to {@code ioPos}. */
    Check replicaOf(Node from, ThreadState io, String ioPos) {
        return replicaOf(from, io, ThreadState.RUNNING, ioPos, "");
    }

    /**
     * Read-only, replicating from {@code from}, received up to {@code ioPos}, its IO thread failing to reach it: it
     * keeps reconnecting ("Connecting") and reports the error, as MariaDB does once a reconnect attempt failed.
     */
    Check lostSource(Node from, String ioPos) {
        return replicaOf(from, ThreadState.CONNECTING, ThreadState.RUNNING, ioPos, reconnectError(from));
    }

    /** {@code Last_IO_Error} of a replica whose IO thread cannot reach {@code source} (errno 2003). */
    static String reconnectError(Node source) {
        return "error reconnecting to master 'repl@" + source.address().host() + ":" + source.address().port()
                + "' - retry-time: 1  maximum-retries: 86400  message: Can't connect to server on '"
                + source.address().host() + "' (111 \"Connection refused\")";
    }

    Check replicaOf(Node from, ThreadState io, ThreadState sql, String ioPos, String ioError) {
        readOnly = true;
        sources.add(new Source("", from.address().host(), from.address().port(), io, sql, ioError, "",
                OptionalLong.of(0), GtidPosition.parse(ioPos), "", "", "Slave_Pos"));
        return this;
    }

    Check semiSync(SemiSync s) {
        semiSync = s;
        return this;
    }

    Check books(NodeRecord r) {
        record = r;
        return this;
    }

    ReplicationNodeState build() {
        return new ReplicationNodeState(at, null, serverId, readOnly, binlog, current, current, sources, semiSync, 300,
                Map.of(), record);
    }

    /** The health of {@code node} in {@code state} whose latest check is this one. */
    NodeHealth health(Node node, HealthState state) {
        ReplicationNodeState s = build();
        return new NodeHealth(node, state, s, s);
    }

    NodeHealth up(Node node) {
        return health(node, new HealthState.Up());
    }
}
