using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Dcis.Crisis.Shared.Events;

/// <summary>
/// The canonical proto JSON used for event data. The parser ignores unknown fields so that an
/// older consumer keeps working when a producer adds a field (tolerant reader).
/// </summary>
public static class ProtoJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    // Formatting writes into a StringBuilder that grows from 16 characters by doubling: for a
    // 2 KB advisory that is eight char arrays per event. Each thread keeps one writer instead (formatting
    // is synchronous, so a thread never uses it twice at once); one that grew past KeptWriterLimit is dropped.
    [ThreadStatic]
    private static StringWriter? _threadWriter;

    private const int KeptWriterLimit = 64 * 1024;

    /// <summary>Formats a message as canonical proto JSON.</summary>
    public static string Format(IMessage message)
    {
        var writer = _threadWriter ?? new StringWriter(new StringBuilder(1024), System.Globalization.CultureInfo.InvariantCulture);
        _threadWriter = null;
        var text = writer.GetStringBuilder();
        text.Clear();
        Formatter.Format(message, writer);
        var json = text.ToString();
        if (text.Capacity <= KeptWriterLimit)
        {
            _threadWriter = writer;
        }

        return json;
    }

    /// <summary>Parses proto JSON into a message.</summary>
    public static T Parse<T>(string json)
        where T : IMessage<T>, new() => Parser.Parse<T>(json);

    /// <summary>Parses UTF-8 proto JSON (a UTF-8 byte order mark is skipped) into a message without
    /// first building the whole text as a string.</summary>
    public static T Parse<T>(ArraySegment<byte> utf8Json)
        where T : IMessage<T>, new()
    {
        if (utf8Json.Array is null || utf8Json.Count == 0)
        {
            return Parser.Parse<T>(string.Empty);
        }

        if (utf8Json.Count <= SmallEvent)
        {
            // An event of a few hundred bytes (the usual case) is decoded to its text at once: a
            // StreamReader would allocate 12 KB of byte and char buffers to read it.
            var bytes = utf8Json.AsSpan();
            return Parser.Parse<T>(Encoding.UTF8.GetString(bytes.StartsWith(Utf8Bom) ? bytes[Utf8Bom.Length..] : bytes));
        }

        using var stream = new MemoryStream(utf8Json.Array, utf8Json.Offset, utf8Json.Count, writable: false);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 4096);
        return Parser.Parse<T>(reader);
    }

    private const int SmallEvent = 16 * 1024;

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Parses proto JSON for a runtime descriptor.</summary>
    public static IMessage Parse(MessageDescriptor descriptor, string json)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return Parser.Parse(json, descriptor);
    }
}
