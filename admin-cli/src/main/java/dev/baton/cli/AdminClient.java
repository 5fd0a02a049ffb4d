package dev.baton.cli;

import dev.baton.admin.api.AdminJson;
import dev.baton.admin.api.ApiError;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The admin API of one Baton, as the commands ask it: a GET or a POST of a request record, answered with JSON. */
public final class AdminClient {
    /** How long a GET may take; a POST waits up to the longest drain the API allows, and a minute more. */
    private static final Duration GET_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration POST_TIMEOUT = Duration.ofMinutes(11);

    private final String url;
    private final String token;

    public AdminClient(String url, String token) {
        this.url = url;
        this.token = token;
    }

    public String url() {
        return url;
    }

    /** An answer's HTTP status and body, the body as it came (for {@code --json}). */
    public record Reply(int status, String body) {
        public <T> T as(Class<T> type) {
            return AdminJson.read(type, body);
        }
    }

    /** GET of an admin API path, failing with one line unless the answer is 200. */
    public Reply getOk(String path) throws IOException, InterruptedException {
        Reply r = send(path, null, true);
        if (r.status() != 200) {
            throw new IllegalStateException(url + path + " answered HTTP " + r.status() + ": " + r.body().strip());
        }
        return r;
    }

    /** POST of {@code request} as JSON; the answer, or one line starting with {@code refused} saying why not. */
    public Reply post(String path, Object request, String refused) throws IOException, InterruptedException {
        Reply r = send(path, AdminJson.write(request), true);
        if (r.status() != 200) {
            String why;
            try {
                why = r.as(ApiError.class).error();
            } catch (IllegalArgumentException e) {
                why = "HTTP " + r.status() + ": " + r.body().strip();
            }
            throw new IllegalStateException(refused + ": " + why);
        }
        return r;
    }

    /** One request: a GET, or a POST of {@code jsonBody}; the token is sent when there is one and {@code withToken}. */
    public Reply send(String path, String jsonBody, boolean withToken) throws IOException, InterruptedException {
        URI uri;
        try {
            uri = URI.create(url.replaceAll("/+$", "") + path);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url '" + url + "' is not a URL");
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(jsonBody == null ? GET_TIMEOUT : POST_TIMEOUT);
        if (jsonBody == null) {
            request.GET();
        } else {
            request.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(jsonBody));
        }
        if (withToken && token != null && !token.isBlank()) {
            request.header("Authorization", "Bearer " + token.strip());
        }
        HttpResponse<String> response;
        try {
            response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build()
                    .send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new IOException("cannot reach Baton's admin API at " + url + " (is Baton running? is --url right?)");
        }
        if (withToken && response.statusCode() == 401) {
            throw new IllegalStateException("unauthorized: give the admin token with --token or BATON_TOKEN");
        }
        return new Reply(response.statusCode(), response.body());
    }
}
