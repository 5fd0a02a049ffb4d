package dev.baton.admin.api;

import java.util.List;

/** {@code GET /api/v1/check}: the cluster against the guidance for its kind. */
public record CheckReport(List<Finding> findings) {

    /** One check: {@code pass}, {@code warn} or {@code fail}, with what was seen. */
    public record Finding(String check, String result, String detail) {
    }
}
