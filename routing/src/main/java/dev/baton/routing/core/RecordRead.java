package dev.baton.routing.core;

import java.util.Optional;
import java.util.Set;

/** One good read of the shared record: the writer (empty when none is recorded yet) and the nodes in maintenance. */
public record RecordRead(Optional<StoredWriter> writer, Set<String> maintenance) {
    public RecordRead {
        maintenance = Set.copyOf(maintenance);
    }
}
