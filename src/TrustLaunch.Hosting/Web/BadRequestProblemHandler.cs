using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace TrustLaunch.Hosting.Web;

/// <summary>
/// Answers a request the endpoint could not bind (a body that is not its contract: a null or missing required member,
/// not JSON) with 400 and the exact reason, e.g. which member of which contract was null and where, instead of a bare
/// status.
/// </summary>
internal sealed class BadRequestProblemHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
            return false;
        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = bad.StatusCode,
                Title = "bad request",
                Detail = bad.InnerException is JsonException json ? $"request body: {json.Message}" : bad.Message,
            },
        }).ConfigureAwait(false);
    }
}
