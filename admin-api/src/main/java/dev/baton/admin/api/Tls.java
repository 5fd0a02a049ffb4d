package dev.baton.admin.api;

/** The certificate Baton shows clients, as the status and {@code POST /api/v1/tls/reload} name it. */
public record Tls(String certificateExpires, String subject, String serial) {
}
