using System.Text;
using Dcis.Crisis.Shared.Errors;

namespace Dcis.Crisis.ThreatLevels.Storage;

/// <summary>Opaque page tokens: a position (last id or sequence) in base64url, so clients do not build them.</summary>
internal static class PageToken
{
    public static string Encode(string? position) =>
        string.IsNullOrEmpty(position) ? string.Empty : Convert.ToBase64String(Encoding.UTF8.GetBytes("p1:" + position)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Encode(long position) => Encode(position.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string? Decode(string? token, string field = "page_token")
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            var s = token.Replace('-', '+').Replace('_', '/');
            s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(s));
            if (text.StartsWith("p1:", StringComparison.Ordinal))
            {
                return text[3..];
            }
        }
        catch (FormatException)
        {
            // Falls through to the validation error below.
        }

        throw ValidationFailedException.For(field, "is not a token returned by a previous response");
    }

    public static long DecodeLong(string? token, long whenAbsent, string field = "page_token")
    {
        var text = Decode(token, field);
        if (text is null)
        {
            return whenAbsent;
        }

        return long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ValidationFailedException.For(field, "is not a token returned by a previous response");
    }
}
