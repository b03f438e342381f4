using System.Buffers.Binary;
using System.Text;

namespace TrustLaunch.Oci.Layers;

/// <summary>
/// Sits between a tar stream and <see cref="System.Formats.Tar.TarReader"/> and keeps the raw bytes of every
/// <c>SCHILY.xattr.*</c> PAX record, which TarReader only exposes decoded as UTF-8 (a binary value such as
/// <c>security.capability</c> comes back with U+FFFD in place of its invalid bytes). It follows the tar block
/// structure as the reader pulls it; on anything it cannot follow (bad header checksum, a huge PAX header) it stops
/// and <see cref="Take"/> answers null, so the caller falls back to the decoded strings.
/// </summary>
internal sealed class PaxXattrTap(Stream inner) : ReadOnlyWrapperStream(inner, leaveOpen: true)
{
    private const int BlockSize = 512;
    private const int SizeOffset = 124, SizeLength = 12;
    private const int ChecksumOffset = 148, ChecksumLength = 8;
    private const int TypeOffset = 156;
    private const int MaxPaxHeaderBytes = 1 << 20;
    private const string XattrPrefix = "SCHILY.xattr.";

    private readonly byte[] _header = new byte[BlockSize];
    private readonly Queue<(long Ordinal, Dictionary<string, byte[]> Xattrs)> _ready = new();
    private int _headerFill;
    private long _skip; // data + padding bytes left of the current entry
    private byte[]? _pax; // the PAX extended header being captured
    private int _paxFill;
    private Dictionary<string, byte[]>? _pendingXattrs;
    private long? _pendingSize;
    private long _ordinal;
    private bool _lost;

    /// <summary>
    /// The raw xattrs of the <paramref name="ordinal"/>-th entry TarReader returned (1-based, counting global
    /// extended attribute entries): empty when it had none, null when the tap lost track of the stream.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]>? Take(long ordinal)
    {
        if (_lost)
            return null;
        while (_ready.TryPeek(out var head) && head.Ordinal < ordinal)
            _ready.Dequeue();
        return _ready.TryPeek(out var next) && next.Ordinal == ordinal ? _ready.Dequeue().Xattrs : new Dictionary<string, byte[]>();
    }

    protected override void Seen(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && !_lost)
        {
            if (_skip > 0)
            {
                var n = (int)Math.Min(_skip, data.Length);
                if (_pax is not null && _paxFill < _pax.Length)
                {
                    var c = Math.Min(n, _pax.Length - _paxFill);
                    data[..c].CopyTo(_pax.AsSpan(_paxFill));
                    _paxFill += c;
                }
                _skip -= n;
                data = data[n..];
                if (_skip == 0 && _pax is not null)
                    EndPaxHeader();
                continue;
            }
            var take = Math.Min(BlockSize - _headerFill, data.Length);
            data[..take].CopyTo(_header.AsSpan(_headerFill));
            _headerFill += take;
            data = data[take..];
            if (_headerFill == BlockSize)
            {
                _headerFill = 0;
                OnHeader();
            }
        }
    }

    private void OnHeader()
    {
        if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            return; // end-of-archive block
        if (!ChecksumMatches() || ParseSize(_header.AsSpan(SizeOffset, SizeLength)) is not { } headerSize)
        {
            _lost = true;
            return;
        }
        var type = (char)_header[TypeOffset];
        var size = headerSize;
        switch (type)
        {
            case 'x':
                if (size > MaxPaxHeaderBytes)
                {
                    _lost = true;
                    return;
                }
                _pax = new byte[size];
                _paxFill = 0;
                break;
            case 'L' or 'K': // GNU long name / long link: metadata TarReader folds into the next entry
                break;
            default:
                _ordinal++;
                if (type != 'g')
                {
                    size = _pendingSize ?? size;
                    if (_pendingXattrs is { Count: > 0 })
                        _ready.Enqueue((_ordinal, _pendingXattrs));
                    _pendingXattrs = null;
                    _pendingSize = null;
                }
                break;
        }
        _skip = checked(size + BlockSize - 1) / BlockSize * BlockSize;
        if (_skip == 0 && _pax is not null)
            EndPaxHeader();
    }

    /// <summary>Records are <c>LENGTH KEY=VALUE\n</c>, LENGTH counting the whole record.</summary>
    private void EndPaxHeader()
    {
        ReadOnlySpan<byte> rest = _pax;
        _pax = null;
        _pendingXattrs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (!rest.IsEmpty)
        {
            var space = rest.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(rest[..space], out var length) || length <= space + 1 || length > rest.Length || rest[length - 1] != '\n')
            {
                _lost = true;
                return;
            }
            var record = rest[(space + 1)..(length - 1)];
            rest = rest[length..];
            var equals = record.IndexOf((byte)'=');
            if (equals < 0)
                continue;
            var key = Encoding.UTF8.GetString(record[..equals]);
            var value = record[(equals + 1)..];
            if (key.StartsWith(XattrPrefix, StringComparison.Ordinal))
                _pendingXattrs[key[XattrPrefix.Length..]] = value.ToArray();
            else if (key == "size" && long.TryParse(value, out var size) && size >= 0)
                _pendingSize = size;
        }
    }

    private bool ChecksumMatches()
    {
        if (ParseOctal(_header.AsSpan(ChecksumOffset, ChecksumLength)) is not { } expected)
            return false;
        long sum = ' ' * ChecksumLength;
        for (var i = 0; i < BlockSize; i++)
        {
            if (i is < ChecksumOffset or >= ChecksumOffset + ChecksumLength)
                sum += _header[i];
        }
        return sum == expected;
    }

    /// <summary>Octal ASCII (space/NUL padded), or GNU base-256 when the high bit of the first byte is set.</summary>
    private static long? ParseSize(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) == 0)
            return ParseOctal(field);
        if (field[0] != 0x80 || field[1..4].IndexOfAnyExcept((byte)0) >= 0)
            return null; // negative, or more than 64 bits
        var value = BinaryPrimitives.ReadInt64BigEndian(field[4..]);
        return value >= 0 ? value : null;
    }

    private static long? ParseOctal(ReadOnlySpan<byte> field)
    {
        field = field.Trim((byte)' ').TrimEnd((byte)0).TrimEnd((byte)' ');
        long value = 0;
        foreach (var b in field)
        {
            if (b is < (byte)'0' or > (byte)'7' || value > long.MaxValue >> 3)
                return null;
            value = value << 3 | (long)(b - '0');
        }
        return value;
    }
}
