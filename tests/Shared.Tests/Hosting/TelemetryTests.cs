using Dcis.Crisis.Shared.Tests.Sample;
using Dcis.Crisis.Testing;
using OpenTelemetry.Trace;

namespace Dcis.Crisis.Shared.Tests.Hosting;

/// <summary>Spans are recorded when something exports them, and only propagate their context otherwise.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Without_An_Exporter_Spans_Carry_The_Trace_But_Are_Not_Recorded_And_With_One_They_Are()
    {
        await using (var plain = SampleApp.Create([]))
        {
            _ = plain.Services.GetRequiredService<TracerProvider>();
            using var span = CrisisTelemetry.ActivitySource.StartActivity("unexported");
            Assert.NotNull(span);
            Assert.NotEqual(default, span.TraceId);
            Assert.False(span.IsAllDataRequested);
        }

        using var dir = new TempDirectory();
        await using var exporting = SampleApp.Create([$"--CRISIS_TRACE_FILE={Path.Combine(dir.Path, "spans.jsonl")}"]);
        _ = exporting.Services.GetRequiredService<TracerProvider>();
        using var recorded = CrisisTelemetry.ActivitySource.StartActivity("exported");
        Assert.NotNull(recorded);
        Assert.True(recorded.Recorded);
    }
}
