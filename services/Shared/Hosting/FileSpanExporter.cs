using System.Diagnostics;
using System.Text.Json;
using OpenTelemetry;

namespace Dcis.Crisis.Shared.Hosting;

/// <summary>
/// Appends finished spans as JSON lines to a file (<c>CRISIS_TRACE_FILE</c>). For local runs and the
/// end-to-end suite, which reads it to prove one trace links a level change to a delivery; production
/// uses OTLP. Only ids, names and the app id are written: tags may hold personal data and are left out.
/// </summary>
public sealed class FileSpanExporter(string path, string appId) : BaseExporter<Activity>
{
    private readonly object _gate = new();

    /// <inheritdoc />
    public override ExportResult Export(in Batch<Activity> batch)
    {
        var lines = new List<string>();
        foreach (var activity in batch)
        {
            lines.Add(JsonSerializer.Serialize(new
            {
                app = appId,
                traceId = activity.TraceId.ToHexString(),
                spanId = activity.SpanId.ToHexString(),
                parentSpanId = activity.ParentSpanId.ToHexString(),
                name = activity.DisplayName,
                kind = activity.Kind.ToString(),
                start = activity.StartTimeUtc,
            }));
        }

        lock (_gate)
        {
            // Several services append to the same file: one write per batch, opened in append mode.
            File.AppendAllLines(path, lines);
        }

        return ExportResult.Success;
    }
}
