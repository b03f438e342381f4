using Microsoft.AspNetCore.Http;

namespace TrustLaunch.Verifier.Push;

/// <summary>Why a push-mode request was refused: the HTTP status and the problem's title and detail.</summary>
public sealed record PushRefusal(int StatusCode, string Title, string Detail)
{
    public static PushRefusal Forbidden(string detail) => new(StatusCodes.Status403Forbidden, "forbidden", detail);

    public static PushRefusal NotFound(string detail) => new(StatusCodes.Status404NotFound, "no such push-mode agent", detail);

    public static PushRefusal Conflict(string title, string detail) => new(StatusCodes.Status409Conflict, title, detail);
}
