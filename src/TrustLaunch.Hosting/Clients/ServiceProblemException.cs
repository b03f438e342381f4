using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Hosting.Clients;

/// <summary>A TrustLaunch service answered with an error: its status and RFC 7807 title/detail/type.</summary>
public sealed class ServiceProblemException(string operation, HttpStatusCode status, string? title, string? detail, string? type = null)
    : Exception($"{operation}: {(int)status} {title ?? status.ToString()}{(detail is null ? "" : $": {detail}")}")
{
    public string Operation { get; } = operation;
    public HttpStatusCode Status { get; } = status;
    public string? Title { get; } = title;
    public string? Detail { get; } = detail;

    /// <summary>The problem's <c>type</c> URI when it sent one (see <see cref="ProblemTypes"/>).</summary>
    public string? Type { get; } = type;

    /// <summary>Throws for a non-success response, with the problem details the service sent (if any).</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.IsSuccessStatusCode)
            return;
        ProblemDetails? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            try
            {
                problem = await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.ProblemDetails, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException)
            {
                // Not problem details after all: the status alone says enough.
            }
        }
        throw new ServiceProblemException(operation, response.StatusCode, problem?.Title, problem?.Detail, problem?.Type);
    }
}
