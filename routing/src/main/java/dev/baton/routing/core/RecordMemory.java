package dev.baton.routing.core;

import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What one instance remembers of the shared writer record between decisions, whatever the kind of cluster: the
 * record as last read, since when, whether the last read succeeded, and the highest epoch ever seen. Not
 * thread-safe: it belongs to the decision thread of one keeper.
 */
public final class RecordMemory {
    private final Clock clock;
    private Optional<StoredWriter> stored = Optional.empty();
    private Optional<StoredWriter> lastWriter = Optional.empty();
    private Instant seenSince;
    private Instant lastGoodRead;
    private Optional<String> lastError = Optional.empty();
    private long highestEpoch;

    public RecordMemory(Clock clock) {
        this.clock = clock;
        this.seenSince = clock.instant();
        this.lastGoodRead = seenSince;
    }

    /** Takes {@code value} as the record now; a different value than before restarts {@link RecordKnowledge#seenSince}. */
    public void learn(Optional<StoredWriter> value) {
        if (!value.equals(stored)) {
            seenSince = clock.instant();
        }
        stored = value;
        value.ifPresent(v -> {
            lastWriter = value;
            highestEpoch = Math.max(highestEpoch, v.epoch());
        });
    }

    /** The record was just read (or written) successfully. */
    public void readOk() {
        lastGoodRead = clock.instant();
        lastError = Optional.empty();
    }

    /** The record could not be read now, for {@code why}; what was known stays. */
    public void readFailed(String why) {
        lastError = Optional.of(why);
    }

    public Optional<StoredWriter> stored() {
        return stored;
    }

    public long highestEpoch() {
        return highestEpoch;
    }

    public Optional<String> lastError() {
        return lastError;
    }

    public Instant seenSince() {
        return seenSince;
    }

    /** What this instance knows of the record now, as the election rules read it. */
    public RecordKnowledge knowledge() {
        return new RecordKnowledge(stored, seenSince, lastGoodRead, lastError, highestEpoch, lastWriter);
    }

    /** The hand-over the record carries under {@code epoch}, for the proxy; null if none (or its target is not in {@code nodes}). */
    public WriterChoice.Handover handoverOf(long epoch, List<Node> nodes) {
        if (stored.isEmpty() || stored.get().epoch() != epoch || !stored.get().handingOver()) {
            return null;
        }
        StoredWriter s = stored.get();
        return nodes.stream().filter(n -> n.name().equals(s.handoverTo())).findFirst()
                .map(n -> new WriterChoice.Handover(n, s.handoverUntil(), s.changedBy())).orElse(null);
    }
}
