using System.Text.RegularExpressions;
using Dcis.Crisis.Shared.Hosting;

namespace Dcis.Crisis.Shared.Errors;

/// <summary>
/// Collects every field violation of a request, then throws them together, so a caller fixing a
/// form sees all its mistakes at once. Field names are the proto's snake_case paths.
/// </summary>
public sealed partial class Validator
{
    private readonly List<FieldViolation> _violations = [];

    /// <summary>Whether nothing was found wrong so far.</summary>
    public bool IsValid => _violations.Count == 0;

    /// <summary>Adds a violation.</summary>
    public Validator Add(string field, string description)
    {
        _violations.Add(new FieldViolation(field, description));
        return this;
    }

    /// <summary>Adds a violation when the condition is false.</summary>
    public Validator Check(bool condition, string field, string description) => condition ? this : Add(field, description);

    /// <summary>The text must be non-blank and within the length.</summary>
    public Validator Required(string field, string? value, int maxLength = Limits.MaxShortTextLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Add(field, "is required");
        }

        return MaxLength(field, value, maxLength);
    }

    /// <summary>The text, if any, must be within the length.</summary>
    public Validator MaxLength(string field, string? value, int maxLength = Limits.MaxShortTextLength) =>
        value is not null && value.Length > maxLength ? Add(field, $"must be at most {maxLength} characters") : this;

    /// <summary>The page size must be 0 (default) to <see cref="Limits.MaxPageSize"/>.</summary>
    public Validator PageSize(string field, int pageSize) =>
        Check(pageSize is >= 0 and <= Limits.MaxPageSize, field, $"must be between 0 and {Limits.MaxPageSize}");

    /// <summary>An E.164 phone number, e.g. +33612345678.</summary>
    public Validator E164(string field, string? value) =>
        string.IsNullOrEmpty(value) || E164Pattern().IsMatch(value) ? this : Add(field, "must be an E.164 number such as +33612345678");

    /// <summary>A plausible e-mail address.</summary>
    public Validator Email(string field, string? value) =>
        string.IsNullOrEmpty(value) || (value.Length <= 254 && EmailPattern().IsMatch(value)) ? this : Add(field, "must be an e-mail address");

    /// <summary>Throws <see cref="ValidationFailedException"/> if anything was found wrong.</summary>
    public void ThrowIfInvalid()
    {
        if (_violations.Count > 0)
        {
            throw new ValidationFailedException(_violations.ToArray());
        }
    }

    /// <summary>The page size to use: the default for 0, else the value (already validated).</summary>
    public static int EffectivePageSize(int requested) => requested <= 0 ? Limits.DefaultPageSize : Math.Min(requested, Limits.MaxPageSize);

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex E164Pattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();
}
