package dev.baton.admin.api;

/** A request body sent to the admin API; its JSON keys are kebab-case, like the config's. */
public interface Request {
}
