package org.bertedge.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Reads test fixtures from the test classpath (src/test/resources). */
public final class TestFiles {
    private TestFiles() {}

    public static InputStream open(String resource) {
        InputStream in = TestFiles.class.getResourceAsStream(resource);
        if (in == null) {
            throw new AssertionError("test resource " + resource + " not on the classpath");
        }
        return in;
    }

    public static String read(String resource) throws IOException {
        try (InputStream in = open(resource)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        }
    }
}
