package dev.baton.routing.core;

import dev.baton.routing.DrainReport;
import dev.baton.routing.Node;

import java.util.List;

/**
 * The books a planned switchover keeps in the cluster beside the writer record: which instances are running
 * (each marks itself alive every few seconds) and what each did with its sessions during a hand-over's drain.
 * Nothing here decides anything; the instance that runs a switchover reads it to know whom to wait for and to
 * report every instance's sessions.
 */
public interface DrainBook {

    /** Marks {@code instance} alive now. */
    void heartbeat(Node via, String instance) throws RecordStoreException;

    /** Takes {@code instance} off the list of running instances (it is stopping). */
    void forget(Node via, String instance) throws RecordStoreException;

    /** Instances marked alive within the last {@code aliveSeconds}. */
    List<String> liveInstances(Node via, int aliveSeconds) throws RecordStoreException;

    /** Records one instance's drain for the hand-over under {@code report.epoch()}. */
    void reportDrain(Node via, DrainReport report) throws RecordStoreException;

    /** Every instance's report for the hand-over under {@code epoch}, read causally. */
    List<DrainReport> drainReports(Node via, long epoch) throws RecordStoreException;
}
