using System.CommandLine;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using TrustLaunch.Cli.Commands.Kbs;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Cli.Commands.StreamProcessor;

/// <summary>
/// <c>trustlaunch stream-decrypt [--agent-socket PATH] [--snapshots DIR]</c>: containerd's ocicrypt stream processor
/// (<c>[stream_processors."io.containerd.ocicrypt.decoder.v1.tar.gzip"]</c> and <c>….tar</c>, CRI
/// <c>image_decryption.key_model = "node"</c>). The encrypted layer comes on stdin, its descriptor in the payload on
/// fd 3 (<see cref="StreamProcessorPayload"/>); the layer key is unwrapped from the descriptor's
/// <c>org.opencontainers.image.enc.keys.provider.trustlaunch</c> packets with the key-encryption key fetched through
/// the local agent (its broker: only an Attested node gets it, measured <c>KeyReleased</c>), and the decrypted layer
/// (HMAC checked at its end) goes to stdout. Any failure: a message on stderr and a non-zero exit, as containerd expects.
/// </summary>
public static class StreamDecryptCommand
{
    private const int PayloadFd = 3;

    public static Command Create()
    {
        var socket = KbsGetResourceCommand.AgentSocketOption();
        var snapshots = new Option<string?>("--snapshots")
        {
            Description = "containerd's overlayfs snapshot directory (ROOT/io.containerd.snapshotter.v1.overlayfs): refuse to decrypt unless it is memory-backed",
            HelpName = "DIR",
        };
        var command = new Command("stream-decrypt", "containerd stream processor: decrypt a provider-encrypted layer (stdin → stdout, descriptor on fd 3) through the agent's broker")
        {
            socket, snapshots,
        };
        command.SetAction(async (parse, ct) =>
        {
            // Also for pulls past the agent's CRI endpoint (ctr, another client), which nothing else checks.
            if (parse.GetValue(snapshots) is { } directory && TrustLaunch.Agent.Cri.SnapshotStorage.RefusalOf(directory) is { } refusal)
                throw new CliFailureException($"refusing to decrypt: {refusal}");
            var agentSocket = KbsGetResourceCommand.AgentSocket(parse, socket);
            var layer = StreamProcessorPayload.Parse(await ReadPayloadAsync(ct).ConfigureAwait(false));
            if (!MediaTypes.IsEncrypted(layer.MediaType) || layer.Annotations?.ContainsKey(KeyProviderPacket.Annotation) is not true)
                throw new CliFailureException($"layer {layer.Digest} ({layer.MediaType}) is not encrypted for the trustlaunch key provider");
            await using var stdin = Console.OpenStandardInput();
            await using var stdout = Console.OpenStandardOutput();
            await using var plain = await Ocicrypt.DecryptAsync(layer, stdin, [], new AgentKeyEncryptionKeys(agentSocket), leaveOpen: true, ct).ConfigureAwait(false);
            await plain.CopyToAsync(stdout, ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<byte[]> ReadPayloadAsync(CancellationToken cancellationToken)
    {
        using var handle = new SafeFileHandle(PayloadFd, ownsHandle: true);
        await using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > StreamProcessorPayload.MaxBytes)
                throw new CliFailureException($"the payload on fd {PayloadFd} is over {StreamProcessorPayload.MaxBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>Key-encryption keys through the local agent's <c>POST /v1/kbs/resource</c>; a refusal keeps the agent's reason.</summary>
    private sealed class AgentKeyEncryptionKeys(string socket) : IKeyEncryptionKeySource
    {
        public async Task<byte[]> GetKeyEncryptionKeyAsync(string kid, CancellationToken cancellationToken)
        {
            try
            {
                return await KbsGetResourceCommand.FetchAsync(socket, kid, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is CliFailureException or CliUsageException)
            {
                throw new CryptographicException(e.Message, e);
            }
        }
    }
}
