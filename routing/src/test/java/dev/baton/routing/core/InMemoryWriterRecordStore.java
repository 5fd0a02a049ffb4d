package dev.baton.routing.core;

import dev.baton.routing.Node;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The writer record in memory, with the SQL store's compare-and-set semantics (insert only when no row exists,
 * update only when the epoch matches), shared by several instances, each through its own {@link Faults} that can
 * fail reads and writes, or apply a write and then fail ("succeeding without an answer"). Keeps every change.
 */
final class InMemoryWriterRecordStore {

    /** One applied change of the row. */
    record Change(Instant at, long expectedEpoch, StoredWriter previous, StoredWriter next, boolean afterDrop) {
    }

    enum WriteFault { NONE, FAIL, APPLY_THEN_FAIL }

    /** One instance's link to the record. */
    static final class Faults {
        boolean failReads;
        WriteFault writes = WriteFault.NONE;
    }

    private final Supplier<Instant> clock;
    private StoredWriter row;
    private boolean exists = true;
    private boolean dropped;
    private final Set<String> maintenance = new TreeSet<>();
    private final List<Change> changes = new ArrayList<>();
    private java.util.function.Consumer<Change> onChange = c -> { };

    InMemoryWriterRecordStore(Supplier<Instant> clock) {
        this.clock = clock;
    }

    /** Called at every applied change, before it becomes visible. */
    void onChange(java.util.function.Consumer<Change> listener) {
        this.onChange = listener;
    }

    Optional<StoredWriter> row() {
        return Optional.ofNullable(row);
    }

    List<Change> changes() {
        return changes;
    }

    /** An operator drops the record's tables. */
    void drop() {
        exists = false;
        row = null;
        maintenance.clear();
        dropped = true;
    }

    WriterRecordStore through(Faults faults) {
        return new WriterRecordStore() {
            @Override
            public void ensure(Node via) throws RecordStoreException {
                if (faults.writes == WriteFault.FAIL) {
                    throw new RecordStoreException("creating baton.writer failed: no answer", false, null);
                }
                exists = true;
            }

            @Override
            public RecordRead read(Node via) throws RecordStoreException {
                if (faults.failReads) {
                    throw new RecordStoreException("reading baton.writer failed: Read timed out", false, null);
                }
                if (!exists) {
                    throw new RecordStoreException("reading baton.writer failed: Table 'baton.writer' doesn't exist", true, null);
                }
                return new RecordRead(Optional.ofNullable(row), maintenance);
            }

            @Override
            public boolean compareAndSet(Node via, long expectedEpoch, StoredWriter next) throws RecordStoreException {
                if (next.epoch() <= expectedEpoch) {
                    throw new IllegalArgumentException("epoch must grow: " + expectedEpoch + " -> " + next.epoch());
                }
                if (faults.writes == WriteFault.FAIL) {
                    throw new RecordStoreException("changing baton.writer failed: no answer", false, null);
                }
                if (!exists) {
                    throw new RecordStoreException("changing baton.writer failed: Table 'baton.writer' doesn't exist", true, null);
                }
                boolean applies = expectedEpoch == 0 ? row == null : row != null && row.epoch() == expectedEpoch;
                if (applies) {
                    Change change = new Change(clock.get(), expectedEpoch, row, next, expectedEpoch == 0 && dropped);
                    changes.add(change);
                    onChange.accept(change);
                    row = next;
                }
                if (faults.writes == WriteFault.APPLY_THEN_FAIL) {
                    throw new RecordStoreException("changing baton.writer failed: Read timed out", false, null);
                }
                return applies;
            }

            @Override
            public void setMaintenance(Node via, String node, boolean on, String requestedBy) throws RecordStoreException {
                if (faults.writes == WriteFault.FAIL) {
                    throw new RecordStoreException("changing baton.maintenance failed: no answer", false, null);
                }
                if (!exists) {
                    throw new RecordStoreException("changing baton.maintenance failed: Table doesn't exist", true, null);
                }
                if (on) {
                    maintenance.add(node);
                } else {
                    maintenance.remove(node);
                }
            }
        };
    }
}
