package dev.baton.routing.replication;

import dev.baton.routing.Node;
import dev.baton.routing.core.RecordStoreException;
import dev.baton.routing.core.StoredWriter;

import java.time.Duration;
import java.util.List;

/**
 * Everything Baton does <em>to</em> a primary/replica cluster, one statement's worth at a time, so the keeper's
 * sequences (promote, switch over, fence, rejoin) read as steps and a simulation can stand in for the servers.
 * Every method blocks for at most its timeout (or the monitor's) and reports failure as {@link ActionException}
 * with a message an operator can act on.
 */
public interface ReplicationActions {

    /** A failed action: the message says what was tried on which node and what the server answered. */
    final class ActionException extends Exception {
        public ActionException(String message, Throwable cause) {
            super(message, cause);
        }

        public ActionException(String message) {
            super(message);
        }
    }

    /**
     * The right to act on the cluster, held on a majority of nodes ({@code GET_LOCK} on each, on connections kept
     * open until {@link #close()}). Two instances can never both hold one: their majorities would share a node.
     */
    interface ClusterLock extends AutoCloseable {
        /** The nodes on which the lock is held, a majority of the configured ones. */
        List<Node> heldOn();

        /** True while every connection holding the lock is still open (a node that dies takes its share with it). */
        boolean intact();

        /**
         * The highest epoch any instance claimed on the nodes holding this lock, as read when it was taken (0 if none).
         * Any two majorities share a node, so a record written under a later lock takes an epoch above every epoch
         * claimed before, even one whose record never reached a majority.
         */
        long claimedEpoch();

        /**
         * Claims {@code epoch} on every node holding the lock, in a small table of each node's own that replication
         * does not carry ({@code sql_log_bin=0}), before a record is written under it.
         */
        void claim(long epoch) throws ActionException;

        @Override
        void close();
    }

    /**
     * Takes the lock on every node of {@code nodes} that grants it at once (no waiting for another holder), and
     * keeps it if that is a majority of {@code nodes}; otherwise gives back what it took and fails, naming who
     * holds it where it could tell.
     */
    ClusterLock lock(List<Node> nodes) throws ActionException;

    /** A fresh check of {@code node}, books included, outside the regular schedule. */
    ReplicationNodeState check(Node node);

    /** Waits until {@code replica} has applied everything up to {@code position} ({@code MASTER_GTID_WAIT}). */
    void awaitApplied(Node replica, GtidPosition position, Duration timeout) throws ActionException;

    /**
     * Checks {@code replica} until its IO thread, just started, runs (a fresh one shows "Preparing", then "Connecting",
     * for a moment), for up to {@code timeout}, and returns the last check; gives up at once if the thread stopped
     * (an error it will not retry) or the node does not answer.
     */
    default ReplicationNodeState awaitReceiving(Node replica, Duration timeout) throws ActionException {
        long until = System.nanoTime() + timeout.toNanos();
        ReplicationNodeState o = check(replica);
        while (o.reachable() && System.nanoTime() < until) {
            ReplicationNodeState.Source src = o.defaultSource().orElse(null);
            if (src == null || src.ioThread() != ReplicationNodeState.ThreadState.CONNECTING) {
                break; // running, stopped, or no source: waiting changes nothing
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ActionException("interrupted while " + replica.name() + " connected to its source");
            }
            o = check(replica);
        }
        return o;
    }

    /** Stops every replication connection of {@code node} and forgets them ({@code STOP ALL SLAVES}, {@code RESET SLAVE ALL}). */
    void stopReplication(Node node) throws ActionException;

    /** {@code SET GLOBAL read_only}. */
    void setReadOnly(Node node, boolean readOnly) throws ActionException;

    /**
     * Ends every client session on {@code node} but replication threads, system threads and the caller's own, so
     * nothing written through a session opened before it was made read-only (by a user allowed past
     * {@code read_only}) lands after the fact. Returns how many it ended.
     */
    int endClientSessions(Node node) throws ActionException;

    /**
     * Makes {@code replica} replicate from {@code primary} by GTID ({@code CHANGE MASTER TO ... MASTER_USE_GTID}),
     * with the configured replication user, semi-synchronous acknowledgement as it was, and starts it.
     */
    void replicateFrom(Node replica, Node primary) throws ActionException;

    /** Turns on the source side of semi-synchronous replication on a new primary ({@code rpl_semi_sync_master_enabled}). */
    void enableSemiSyncSource(Node primary) throws ActionException;

    /**
     * On {@code primary}, the only node written to: sets the writer record by compare-and-set from
     * {@code expectedEpoch} and, with a {@code promotion}, records it in the same transaction. Creates the tables if
     * they are missing.
     *
     * @return whether this call made the change, and the primary's position right after it
     */
    RecordWrite writeRecord(Node primary, long expectedEpoch, StoredWriter next, NodeRecord.Promotion promotion)
            throws RecordStoreException;

    /**
     * The outcome of {@link #writeRecord}.
     *
     * @param applied true if this call made the change
     * @param after   the primary's {@code gtid_binlog_pos} after it, which replicas must reach to hold the change
     */
    record RecordWrite(boolean applied, GtidPosition after) {
    }

    /** Puts {@code node} in or out of maintenance, on the primary. */
    void setMaintenance(Node primary, String node, boolean on, String requestedBy) throws RecordStoreException;
}
