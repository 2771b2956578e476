using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Notifications.Events;

/// <summary>
/// Parses the data of a NotificationRequested (up to 1,000 recipients) with a Utf8JsonReader straight into the message,
/// instead of Google.Protobuf's reflection JsonParser over a text reader (~10% of the service's CPU in a 100,000-recipient
/// run). It reads the form producers write — ProtoJson.Format's: lowerCamelCase names, enums by name or number, int64 as a
/// string or number, RFC 3339 timestamps — and hands anything else (original field names, a field twice, null, numbers
/// in other spellings, unknown fields or enum names, invalid JSON or UTF-8) to ProtoJson, so the result, or the
/// exception, is always what ProtoJson gives.
/// </summary>
internal sealed class NotificationRequestedJsonParser : IEventDataParser<NotificationRequested>
{
    private static readonly Dictionary<string, int> PriorityNames = EnumNames(Priority.Unspecified);
    private static readonly Dictionary<string, int> LanguageNames = EnumNames(Language.Unspecified);
    private static readonly Dictionary<string, int> ChannelNames = EnumNames(Channel.Unspecified);
    private static readonly Dictionary<string, int> ActionNames =
        NotificationRequested.Descriptor.FindFieldByNumber(NotificationRequested.ActionFieldNumber).EnumType.Values.ToDictionary(v => v.Name, v => v.Number, StringComparer.Ordinal);

    public NotificationRequested Parse(ArraySegment<byte> utf8Json) =>
        TryParse(utf8Json, out var message) ? message : ProtoJson.Parse<NotificationRequested>(utf8Json);

    /// <summary>Reads the canonical form; false (nothing half-read escapes) for anything it leaves to ProtoJson.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out NotificationRequested? message)
    {
        message = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var m = new NotificationRequested();
            var seen = 0;
            while (Next(ref reader, out var name))
            {
                if (!Once(ref seen, name))
                {
                    return false;
                }

                string text;
                int number;
                Timestamp? time;
                switch (name)
                {
                    case 1 when String(ref reader, out text):
                        m.EventId = text;
                        break;
                    case 2 when String(ref reader, out text):
                        m.Source = text;
                        break;
                    case 3 when String(ref reader, out text):
                        m.SourceAlertId = text;
                        break;
                    case 4 when Int64(ref reader, out var version):
                        m.AlertVersion = version;
                        break;
                    case 5 when Int32(ref reader, out number):
                        m.BatchIndex = number;
                        break;
                    case 6 when Int32(ref reader, out number):
                        m.BatchCount = number;
                        break;
                    case 7 when Enum(ref reader, PriorityNames, out number):
                        m.Priority = (Priority)number;
                        break;
                    case 8 when Time(ref reader, out time):
                        m.ExpiresAt = time;
                        break;
                    case 9 when Recipients(ref reader, m):
                        break;
                    case 10 when Messages(ref reader, m):
                        break;
                    case 11 when Enum(ref reader, ActionNames, out number):
                        m.Action = (NotificationAction)number;
                        break;
                    case 12 when String(ref reader, out text):
                        m.CauseTraceparent = text;
                        break;
                    case 13 when Time(ref reader, out time):
                        m.RequestedAt = time;
                        break;
                    default:
                        return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }

            message = m;
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException
            or Google.Protobuf.InvalidProtocolBufferException or Google.Protobuf.InvalidJsonException)
        {
            // Invalid JSON, invalid UTF-8 or escapes, a timestamp ProtoJson refuses: ProtoJson says what it is.
            return false;
        }
    }

    /// <summary>Moves to the next property of the current object and its value; false at the end of the object.
    /// <paramref name="field"/> is the field number of a NotificationRequested name, 0 for any other name.</summary>
    private static bool Next(ref Utf8JsonReader reader, out int field)
    {
        field = 0;
        if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName)
        {
            return false;
        }

        field = reader.ValueTextEquals("eventId"u8) ? 1
            : reader.ValueTextEquals("source"u8) ? 2
            : reader.ValueTextEquals("sourceAlertId"u8) ? 3
            : reader.ValueTextEquals("alertVersion"u8) ? 4
            : reader.ValueTextEquals("batchIndex"u8) ? 5
            : reader.ValueTextEquals("batchCount"u8) ? 6
            : reader.ValueTextEquals("priority"u8) ? 7
            : reader.ValueTextEquals("expiresAt"u8) ? 8
            : reader.ValueTextEquals("recipients"u8) ? 9
            : reader.ValueTextEquals("messages"u8) ? 10
            : reader.ValueTextEquals("action"u8) ? 11
            : reader.ValueTextEquals("causeTraceparent"u8) ? 12
            : reader.ValueTextEquals("requestedAt"u8) ? 13
            : 0;
        reader.Read();
        return true;
    }

    private static bool Once(ref int seen, int field)
    {
        if (field == 0 || (seen & (1 << field)) != 0)
        {
            return false;
        }

        seen |= 1 << field;
        return true;
    }

    private static bool Recipients(ref Utf8JsonReader reader, NotificationRequested m) =>
        ObjectArray(ref reader, RecipientField, RecipientValue, m.Recipients);

    private static int RecipientField(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("recipientId"u8) ? 1
        : reader.ValueTextEquals("language"u8) ? 2
        : reader.ValueTextEquals("addresses"u8) ? 3
        : reader.ValueTextEquals("replyCode"u8) ? 4
        : 0;

    private static bool RecipientValue(ref Utf8JsonReader reader, Recipient r, int field)
    {
        string text;
        switch (field)
        {
            case 1 when String(ref reader, out text):
                r.RecipientId = text;
                return true;
            case 2 when Enum(ref reader, LanguageNames, out var language):
                r.Language = (Language)language;
                return true;
            case 3:
                return ObjectArray(ref reader, AddressField, AddressValue, r.Addresses);
            case 4 when String(ref reader, out text):
                r.ReplyCode = text;
                return true;
            default:
                return false;
        }
    }

    private static int AddressField(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("channel"u8) ? 1 : reader.ValueTextEquals("address"u8) ? 2 : 0;

    private static bool AddressValue(ref Utf8JsonReader reader, ChannelAddress a, int field)
    {
        switch (field)
        {
            case 1 when Enum(ref reader, ChannelNames, out var channel):
                a.Channel = (Channel)channel;
                return true;
            case 2 when String(ref reader, out var address):
                a.Address = address;
                return true;
            default:
                return false;
        }
    }

    private static bool Messages(ref Utf8JsonReader reader, NotificationRequested m) =>
        ObjectArray(ref reader, MessageField, MessageValue, m.Messages);

    private static int MessageField(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("language"u8) ? 1 : reader.ValueTextEquals("subject"u8) ? 2 : reader.ValueTextEquals("body"u8) ? 3 : 0;

    private static bool MessageValue(ref Utf8JsonReader reader, LocalizedMessage l, int field)
    {
        string text;
        switch (field)
        {
            case 1 when Enum(ref reader, LanguageNames, out var language):
                l.Language = (Language)language;
                return true;
            case 2 when String(ref reader, out text):
                l.Subject = text;
                return true;
            case 3 when String(ref reader, out text):
                l.Body = text;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Maps the property name under the reader to a field number (0 for a name the message does not have).</summary>
    private delegate int FieldNumber(ref Utf8JsonReader reader);

    /// <summary>Reads the value under the reader into field <c>field</c> of <c>item</c>; false if it is not in canonical form.</summary>
    private delegate bool FieldValue<in T>(ref Utf8JsonReader reader, T item, int field);

    /// <summary>An array of objects, each read field by field (every field at most once) and added to <paramref name="into"/>.</summary>
    private static bool ObjectArray<T>(ref Utf8JsonReader reader, FieldNumber fieldOf, FieldValue<T> read, RepeatedField<T> into)
        where T : new()
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var item = new T();
            var seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = fieldOf(ref reader);
                if (!Once(ref seen, field) || !reader.Read() || !read(ref reader, item, field))
                {
                    return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return false;
            }

            into.Add(item);
        }

        return reader.TokenType == JsonTokenType.EndArray;
    }

    private static bool String(ref Utf8JsonReader reader, out string value)
    {
        value = reader.TokenType == JsonTokenType.String ? reader.GetString()! : string.Empty;
        return reader.TokenType == JsonTokenType.String;
    }

    /// <summary>An int32 written as a plain JSON integer (other spellings go to ProtoJson).</summary>
    private static bool Int32(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && PlainInteger(reader.ValueSpan) && reader.TryGetInt32(out value);
    }

    /// <summary>An int64 as a quoted (canonical) or plain integer, without exponent, fraction, sign '+' or leading zeros.</summary>
    private static bool Int64(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        if (reader.TokenType == JsonTokenType.Number)
        {
            return PlainInteger(reader.ValueSpan) && reader.TryGetInt64(out value);
        }

        return reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && PlainInteger(reader.ValueSpan)
            && long.TryParse(reader.ValueSpan, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    private static bool PlainInteger(ReadOnlySpan<byte> text)
    {
        var digits = text.Length > 0 && text[0] == (byte)'-' ? text[1..] : text;
        return digits.Length is > 0 and <= 19 && (digits[0] != (byte)'0' || digits.Length == 1) && !digits.ContainsAnyExceptInRange((byte)'0', (byte)'9');
    }

    /// <summary>An enum by its proto name, or by number (proto3 enums are open: any int32).</summary>
    private static bool Enum(ref Utf8JsonReader reader, Dictionary<string, int> names, out int value)
    {
        value = 0;
        if (reader.TokenType == JsonTokenType.Number)
        {
            return PlainInteger(reader.ValueSpan) && reader.TryGetInt32(out value);
        }

        return reader.TokenType == JsonTokenType.String && names.TryGetValue(reader.GetString()!, out value);
    }

    /// <summary>A timestamp in the form ProtoJson writes ("yyyy-MM-ddTHH:mm:ss", 0, 3, 6 or 9 digits of fraction, "Z");
    /// any other form (an offset, a leap second...) is parsed by ProtoJson itself.</summary>
    private static bool Time(ref Utf8JsonReader reader, out Timestamp? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        var text = reader.ValueSpan;
        value = CanonicalTime(text) ?? ProtoJson.Parse<Timestamp>(string.Concat("\"", reader.GetString(), "\""));
        return true;
    }

    internal static Timestamp? CanonicalTime(ReadOnlySpan<byte> text)
    {
        if (text.Length < 20 || text[^1] != (byte)'Z'
            || !TryParseSeconds(text[..19], out var seconds))
        {
            return null;
        }

        var fraction = text[19..^1];
        var nanos = 0;
        if (fraction.Length > 0)
        {
            if (fraction[0] != (byte)'.' || fraction.Length - 1 is not (3 or 6 or 9) || fraction[1..].ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return null;
            }

            foreach (var digit in fraction[1..])
            {
                nanos = (nanos * 10) + (digit - '0');
            }

            for (var i = fraction.Length - 1; i < 9; i++)
            {
                nanos *= 10;
            }
        }

        return new Timestamp { Seconds = (seconds.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond, Nanos = nanos };
    }

    /// <summary>"yyyy-MM-ddTHH:mm:ss" exactly (UTC, no offset).</summary>
    private static bool TryParseSeconds(ReadOnlySpan<byte> text, out DateTime value)
    {
        Span<char> chars = stackalloc char[19];
        for (var i = 0; i < 19; i++)
        {
            chars[i] = (char)text[i];
        }

        return DateTime.TryParseExact(chars, "yyyy'-'MM'-'dd'T'HH':'mm':'ss", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out value);
    }

    private static Dictionary<string, int> EnumNames<TEnum>(TEnum _)
        where TEnum : struct, System.Enum =>
        CommonReflection.Descriptor.EnumTypes.Single(e => e.ClrType == typeof(TEnum)).Values.ToDictionary(v => v.Name, v => v.Number, StringComparer.Ordinal);
}
