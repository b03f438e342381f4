using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Agent.Tests;

/// <summary>Reads the RFC 7807 problem a refusal carries, asserting its status.</summary>
public static class Problems
{
    public static async Task<ProblemDetails> ExpectAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.ProblemDetails))!;
    }
}
