using System.CommandLine;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Cli.Commands;

/// <summary>One call of a CLI command to a service's mutual-TLS API: the URL option must be https://, the client
/// certificate comes from <c>--tls-dir</c>/<c>--tls-name</c>, the server must carry <c>serverRole</c>; the
/// service's error answers and network faults become one-line failures.</summary>
internal static class ServiceCall
{
    public static async Task<T> RunAsync<T>(ParseResult parse, Option<string> url, Option<string> tlsDirectory, Option<string> tlsName,
        string serverRole, string service, Func<HttpClient, Task<T>> call)
    {
        var uri = HttpsUrl(url.Name, parse.GetValue(url));
        using var identity = TlsIdentity.FromDirectory(parse.GetValue(tlsDirectory)!, parse.GetValue(tlsName)!);
        using var http = new ServiceHttpClientFactory(identity).Create(uri, serverRole);
        try
        {
            return await call(http).ConfigureAwait(false);
        }
        catch (ServiceProblemException e)
        {
            throw new CliFailureException(e.Message);
        }
        catch (HttpRequestException e)
        {
            throw new CliFailureException($"{service} {uri} unreachable: {e.Message}");
        }
    }

    /// <summary><paramref name="value"/> as an absolute https:// URL, else a usage error naming <paramref name="name"/>.</summary>
    public static Uri HttpsUrl(string name, string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
            ? uri
            : throw new CliUsageException($"{name} '{value}' is not an https:// URL");
}
