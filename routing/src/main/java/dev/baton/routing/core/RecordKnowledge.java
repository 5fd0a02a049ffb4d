package dev.baton.routing.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What one instance knows of the writer record when it decides.
 *
 * @param stored       the record as last read (empty: none recorded, or never read)
 * @param seenSince    when this instance first read the stored epoch: checks older than this describe a world
 *                     the record may not be about, and are not evidence against its writer
 * @param lastGoodRead when the last read succeeded (the instance's start if none did yet)
 * @param lastError    why the reads since {@code lastGoodRead} failed, or empty if the last read succeeded
 * @param highestEpoch the highest epoch this instance has seen or written; a re-created record starts above it
 * @param lastWriter   the last recorded writer this instance saw, kept when the record vanishes (a dropped table)
 */
public record RecordKnowledge(Optional<StoredWriter> stored, Instant seenSince, Instant lastGoodRead,
                             Optional<String> lastError, long highestEpoch, Optional<StoredWriter> lastWriter) {

    /** How long the instance has gone without a good read, at {@code now}; zero when the last read succeeded. */
    public Duration unreadFor(Instant now) {
        return lastError.isEmpty() ? Duration.ZERO : Duration.between(lastGoodRead, now);
    }
}
