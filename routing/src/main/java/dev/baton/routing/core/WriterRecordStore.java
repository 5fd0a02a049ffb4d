package dev.baton.routing.core;

import dev.baton.routing.Node;

/**
 * Where the instances' shared writer record lives (for Galera, a table in the cluster itself), read and written
 * through one node at a time. The only way to change the writer is {@link #compareAndSet}: of several instances
 * proposing from the same epoch, exactly one wins.
 */
public interface WriterRecordStore {

    /** Creates the record's tables if they do not exist; changes no value. */
    void ensure(Node via) throws RecordStoreException;

    /** Reads the record as of every change committed before the read (a causal read). */
    RecordRead read(Node via) throws RecordStoreException;

    /**
     * Sets {@code next} if the stored epoch is still {@code expectedEpoch}, or, with {@code expectedEpoch} 0, if
     * no writer is stored. {@code next.epoch()} must be greater than {@code expectedEpoch}.
     *
     * @return true if this call made the change; false if the record was not as expected
     * @throws RecordStoreException when the answer is unknown: the change may or may not have been applied
     */
    boolean compareAndSet(Node via, long expectedEpoch, StoredWriter next) throws RecordStoreException;

    /** Puts a node in (or takes it out of) maintenance for every instance. */
    void setMaintenance(Node via, String node, boolean on, String requestedBy) throws RecordStoreException;
}
