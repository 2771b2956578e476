using System.Globalization;
using System.Reflection;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>ISO codes and the one timestamp format of the database (UTC, sortable as text).</summary>
internal static class Iso
{
    private static readonly Lazy<HashSet<string>> Codes = new(LoadCodes);

    public static bool IsCountry(string? code) => code is { Length: 2 } && Codes.Value.Contains(code);

    public static bool IsSubdivisionOf(string? code, string country) =>
        code is not null && code.StartsWith(country + "-", StringComparison.Ordinal) && Codes.Value.Contains(code);

    /// <summary>Sortable UTC text: every stored time uses it, so text comparison is time comparison.</summary>
    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string Date(DateOnly value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static bool TryParseDate(string? value, out DateOnly date) =>
        DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    public static DateOnly DateOf(DateTimeOffset value) => DateOnly.FromDateTime(value.UtcDateTime);

    private static HashSet<string> LoadCodes()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Dcis.Crisis.Consular.iso3166-codes.txt")
            ?? throw new InvalidOperationException("ISO 3166 reference data missing");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && line[0] != '#')
            {
                set.Add(line.Trim());
            }
        }

        return set;
    }
}
