package dev.baton.admin.api;

import java.util.List;

/** {@code GET /api/v1/events}: writer changes and node state changes, oldest first. */
public record Events(List<Event> events) {

    /** One change, when, of what, why, and who asked for it. */
    public record Event(String time, String kind, String subject, String description, String requestedBy) {
    }
}
