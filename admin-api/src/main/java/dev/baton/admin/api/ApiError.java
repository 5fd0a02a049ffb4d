package dev.baton.admin.api;

/** Every refusal of the admin API, whatever its HTTP status: {@code {"error": "what is wrong"}}. */
public record ApiError(String error) {
}
