namespace TrustLaunch.Registrar.Registration;

/// <summary>A registration or activation the registrar refuses: the HTTP status and problem title/detail to answer.</summary>
public sealed class RegistrationRefusedException(int statusCode, string title, string detail) : Exception($"{title}: {detail}")
{
    public int StatusCode { get; } = statusCode;
    public string Title { get; } = title;
    public string Detail { get; } = detail;
}
