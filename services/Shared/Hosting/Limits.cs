namespace Dcis.Crisis.Shared.Hosting;

/// <summary>
/// Bounds on what a caller may send. A crisis is exactly when someone pastes a 50 MB document or
/// a 100,000-vertex border into a form; the service must refuse it cleanly rather than fall over.
/// </summary>
public static class Limits
{
    /// <summary>Largest gRPC request accepted, in bytes.</summary>
    public const int MaxRequestBytes = 1024 * 1024;

    /// <summary>Largest gRPC response sent, in bytes.</summary>
    public const int MaxResponseBytes = 8 * 1024 * 1024;

    /// <summary>Page size used when a list request gives none.</summary>
    public const int DefaultPageSize = 50;

    /// <summary>Largest page a list request may ask for.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Longest free text (summaries, advice, message bodies), in characters.</summary>
    public const int MaxTextLength = 4000;

    /// <summary>Longest short text (titles, names, reasons), in characters.</summary>
    public const int MaxShortTextLength = 500;

    /// <summary>Most vertices in a polygon.</summary>
    public const int MaxPolygonVertices = 1000;

    /// <summary>Largest circle radius, in metres.</summary>
    public const double MaxCircleRadiusMeters = 2_000_000;
}
