using System.CommandLine;
using System.Security.Cryptography;
using TrustLaunch.Cli.Commands.Kbs;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Oci.Crypt;

namespace TrustLaunch.Cli.Commands.KeyProvider;

/// <summary>
/// <c>trustlaunch keyprovider</c>: the ocicrypt key provider <c>trustlaunch</c> as a command (one protocol message on
/// standard input, the answer on standard output; a refusal is one line on standard error and a non-zero exit).
/// keywrap seals the layer's private options under the key-encryption key at the resource named by
/// <c>provider:trustlaunch:kbs:///REPOSITORY/TYPE/TAG</c> (created at the broker through its admin API: --kbs-admin /
/// $TRUSTLAUNCH_KBS_ADMIN, --tls-dir / $TRUSTLAUNCH_TLS_DIR with the kbs-admin certificate); keyunwrap fetches that
/// key through the local agent (its socket; the agent attests and measures KeyReleased) and opens the packet.
/// </summary>
public static class KeyProviderCommand
{
    public static Command Create(GlobalOptions options)
    {
        var admin = new KbsAdminOptions();
        var socket = KbsGetResourceCommand.AgentSocketOption();
        var command = new Command("keyprovider", "ocicrypt key provider 'trustlaunch': keywrap/keyunwrap messages on stdin, answers on stdout") { socket };
        admin.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            object request;
            try
            {
                request = KeyProviderProtocol.Parse(await KeyProviderProtocol.ReadMessageAsync(options.Input, ct).ConfigureAwait(false));
            }
            catch (KeyProviderProtocolException e)
            {
                throw new CliUsageException("keyprovider: " + e.Message);
            }
            var answer = request switch
            {
                KeyWrapRequest wrap => await WrapAsync(parse, admin, wrap, ct).ConfigureAwait(false),
                KeyUnwrapRequest unwrap => await UnwrapAsync(parse, socket, unwrap, ct).ConfigureAwait(false),
                var other => throw new InvalidOperationException($"unexpected request {other.GetType().Name}"),
            };
            var stdout = parse.InvocationConfiguration.Output;
            await stdout.WriteAsync(answer).ConfigureAwait(false);
            await stdout.FlushAsync(ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<string> WrapAsync(ParseResult parse, KbsAdminOptions admin, KeyWrapRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var kid = ImageKeyEncryptionKeys.ParseKid(request.Kid);
            var kek = await admin.CallAsync(parse, client => ImageKeyEncryptionKeys.GetOrCreateAsync(client, kid, cancellationToken)).ConfigureAwait(false);
            try
            {
                return KeyProviderProtocol.WrapResult(KeyProviderPacket.Wrap(request.OptsData, kek, kid.WithoutAuthority));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(kek);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(request.OptsData);
        }
    }

    private static Task<string> UnwrapAsync(ParseResult parse, Option<string?> socket, KeyUnwrapRequest request, CancellationToken cancellationToken) =>
        KeyProviderProtocol.UnwrapAsync(request, (kid, ct) =>
        {
            KbsResourceUri.Parse(kid);
            return KbsGetResourceCommand.FetchAsync(KbsGetResourceCommand.AgentSocket(parse, socket), kid, ct);
        }, cancellationToken);
}
