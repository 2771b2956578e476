namespace Dcis.Crisis.Shared.Errors;

/// <summary>
/// Outcomes the domain reports without knowing about gRPC; the error interceptor turns each into
/// a precise status code (InvalidArgument with field violations, NotFound, FailedPrecondition...).
/// </summary>
public abstract class DomainException(string message) : Exception(message);

/// <summary>One bad field: its path in the request (snake_case, as in the proto) and why.</summary>
public sealed record FieldViolation(string Field, string Description);

/// <summary>The request is invalid; nothing was changed. Maps to InvalidArgument + BadRequest.</summary>
public sealed class ValidationFailedException(IReadOnlyList<FieldViolation> violations)
    : DomainException("Invalid request: " + string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}")))
{
    /// <summary>The violations, in the order found.</summary>
    public IReadOnlyList<FieldViolation> Violations { get; } = violations;

    /// <summary>A single violation.</summary>
    public static ValidationFailedException For(string field, string description) => new([new FieldViolation(field, description)]);
}

/// <summary>The named resource does not exist (or the caller may not know it exists). NotFound.</summary>
public sealed class NotFoundException(string resource, string id) : DomainException($"{resource} '{id}' not found")
{
    /// <summary>Kind of resource. Example: "assessment".</summary>
    public string Resource { get; } = resource;

    /// <summary>Its id.</summary>
    public string Id { get; } = id;
}

/// <summary>The state does not allow the change (stale version, already approved...). FailedPrecondition.</summary>
public sealed class ConflictException(string message, string? reason = null) : DomainException(message)
{
    /// <summary>A machine-readable reason. Example: "STALE_VERSION".</summary>
    public string Reason { get; } = reason ?? "FAILED_PRECONDITION";
}

/// <summary>The caller may not do this to this object. PermissionDenied.</summary>
public sealed class AccessDeniedException(string message) : DomainException(message);

/// <summary>The resource exists already. AlreadyExists.</summary>
public sealed class AlreadyExistsException(string message) : DomainException(message);

/// <summary>A per-caller quota is exhausted (e.g. too many open streams). ResourceExhausted.</summary>
public sealed class QuotaExceededException(string message) : DomainException(message);
