package org.bertedge.core.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Strict UTF-8 reading of the bundle's tokenizer files: a malformed byte is an error, not U+FFFD. */
final class Utf8 {
    private Utf8() {
    }

    /** The whole stream as text (not closed); {@code what} names the file in the error. */
    static String readStrict(InputStream in, String what, int sizeHint) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(sizeHint);
        byte[] chunk = new byte[1 << 16];
        int n;
        while ((n = in.read(chunk)) > 0) {
            buf.write(chunk, 0, n);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(what + " is not valid UTF-8", e);
        }
    }
}
