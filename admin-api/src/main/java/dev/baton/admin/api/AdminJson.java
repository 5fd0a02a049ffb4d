package dev.baton.admin.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.jr.ob.JSON;
import com.fasterxml.jackson.jr.ob.JSONObjectException;
import com.fasterxml.jackson.jr.ob.JacksonJrExtension;
import com.fasterxml.jackson.jr.ob.api.ExtensionContext;
import com.fasterxml.jackson.jr.ob.api.ReaderWriterModifier;
import com.fasterxml.jackson.jr.ob.api.ValueReader;
import com.fasterxml.jackson.jr.ob.impl.BeanPropertyIntrospector;
import com.fasterxml.jackson.jr.ob.impl.JSONReader;
import com.fasterxml.jackson.jr.ob.impl.JSONWriter;
import com.fasterxml.jackson.jr.ob.impl.POJODefinition;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The admin API's JSON, the same on both ends: records in, records out, through jackson-jr. A record component's
 * JSON name is its Java name in snake_case ({@code uptimeSeconds} is {@code uptime_seconds}); a {@link Request}'s
 * components are in kebab-case ({@code drain-timeout}), like the config keys. Reading is strict: a string where true
 * or false belongs, or anything after the one JSON value is an error naming what is wrong, and so is an unknown key
 * in a request. An unknown key in an answer is skipped, so an older {@code baton} reads a newer Baton's answers.
 */
public final class AdminJson {
    private static final com.fasterxml.jackson.core.JsonFactory FACTORY = new com.fasterxml.jackson.core.JsonFactory();
    private static final JSON JSON_RECORDS = JSON.builder()
            .enable(JSON.Feature.WRITE_NULL_PROPERTIES, JSON.Feature.WRITE_RECORD_FIELDS_IN_DECLARATION_ORDER)
            .disable(JSON.Feature.FAIL_ON_UNKNOWN_BEAN_PROPERTY)
            .disable(JSON.Feature.USE_FIELDS)
            .register(new JacksonJrExtension() {
                @Override
                protected void register(ExtensionContext context) {
                    context.insertModifier(new WireNames());
                }
            })
            .build();

    private AdminJson() {
    }

    /** One JSON value, compact (no spaces), as the admin API answers. */
    public static String write(Object value) {
        try {
            return JSON_RECORDS.asString(value);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Reads one JSON object into {@code type}.
     *
     * @throws Invalid when the text is not JSON, not one object, or does not fit {@code type}; the message says why
     */
    public static <T> T read(Class<T> type, String json) {
        try (JsonParser parser = FACTORY.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new Invalid("expected a JSON object");
            }
            java.util.Map<String, Object> keys = JSON_RECORDS.mapFrom(parser);
            if (parser.nextToken() != null) {
                throw new Invalid("unexpected text after the JSON object");
            }
            if (Request.class.isAssignableFrom(type) && type.isRecord()) {
                List<String> known = new ArrayList<>();
                for (var component : type.getRecordComponents()) {
                    known.add(wireName(type, component.getName()));
                }
                for (String key : keys.keySet()) {
                    if (!known.contains(key)) {
                        throw new Invalid("unknown key \"" + key + "\" (known: " + String.join(", ", known) + ")");
                    }
                }
            }
            return JSON_RECORDS.beanFrom(type, json);
        } catch (JSONObjectException e) {
            throw new Invalid(firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new Invalid("not valid JSON: " + firstLine(e instanceof com.fasterxml.jackson.core.JacksonException j
                    ? j.getOriginalMessage() : e.getMessage()));
        }
    }

    private static String firstLine(String message) {
        String m = String.valueOf(message);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** A body that is not the JSON the admin API expects; the message names the key or the fault. */
    public static final class Invalid extends IllegalArgumentException {
        public Invalid(String message) {
            super(message);
        }
    }

    /** The JSON name of a record component: snake_case in answers, kebab-case in requests. */
    static String wireName(Class<?> type, String javaName) {
        char separator = Request.class.isAssignableFrom(type) ? '-' : '_';
        StringBuilder out = new StringBuilder(javaName.length() + 4);
        for (char c : javaName.toCharArray()) {
            if (Character.isUpperCase(c)) {
                out.append(separator).append(Character.toLowerCase(c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Renames every property to its wire name, and reads strings and booleans without coercing other types. */
    private static final class WireNames extends ReaderWriterModifier {
        @Override
        public POJODefinition pojoDefinitionForDeserialization(JSONReader reader, Class<?> type) {
            return rename(type, BeanPropertyIntrospector.instance().pojoDefinitionForDeserialization(reader, type));
        }

        @Override
        public POJODefinition pojoDefinitionForSerialization(JSONWriter writer, Class<?> type) {
            return rename(type, BeanPropertyIntrospector.instance().pojoDefinitionForSerialization(writer, type));
        }

        private static POJODefinition rename(Class<?> type, POJODefinition definition) {
            List<POJODefinition.Prop> props = new ArrayList<>();
            for (POJODefinition.Prop p : definition.getProperties()) {
                props.add(new POJODefinition.Prop(wireName(type, p.name), p.originalName(), p.field, p.setter, p.getter,
                        p.isGetter, p.aliases()));
            }
            return definition.withProperties(props);
        }

        @Override
        public ValueReader modifyValueReader(JSONReader reader, Class<?> type, ValueReader standard) {
            if (type == String.class || type == Boolean.class || type == boolean.class) {
                return new Strict(type);
            }
            return standard;
        }
    }

    /** jackson-jr turns {@code "yes"} into false and {@code [1]} into a string; the admin API refuses both. */
    private static final class Strict extends ValueReader {
        Strict(Class<?> type) {
            super(type);
        }

        @Override
        public Object read(JSONReader reader, JsonParser p) throws IOException {
            JsonToken token = p.currentToken();
            if (token == JsonToken.VALUE_NULL) {
                return null;
            }
            if (_valueType == String.class && token == JsonToken.VALUE_STRING) {
                return p.getText();
            }
            if (_valueType != String.class && token.isBoolean()) {
                return token == JsonToken.VALUE_TRUE;
            }
            String expected = _valueType == String.class ? "a string" : "true or false";
            throw new JSONObjectException("\"" + p.currentName() + "\" must be " + expected + ", not " + describe(token));
        }

        private static String describe(JsonToken token) {
            return switch (token) {
                case START_OBJECT -> "an object";
                case START_ARRAY -> "an array";
                case VALUE_STRING -> "a string";
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
                case VALUE_TRUE, VALUE_FALSE -> "true or false";
                default -> token.toString();
            };
        }
    }
}
