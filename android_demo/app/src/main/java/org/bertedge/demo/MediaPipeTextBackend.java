package org.bertedge.demo;

import android.content.Context;

import com.google.mediapipe.tasks.components.containers.Category;
import com.google.mediapipe.tasks.components.containers.Classifications;
import com.google.mediapipe.tasks.core.BaseOptions;
import com.google.mediapipe.tasks.text.textclassifier.TextClassifier;
import com.google.mediapipe.tasks.text.textclassifier.TextClassifierResult;

import org.bertedge.core.BackendId;
import org.bertedge.core.TextBackend;

import java.util.Arrays;

/**
 * A bundled .tflite on MediaPipe Tasks' {@code TextClassifier} (com.google.mediapipe:tasks-text),
 * exactly as an app that only knows MediaPipe would use it: raw text in, MediaPipe's own C++
 * WordPiece tokenizer (vocab and labels come from the file's Model Metadata, written by
 * `bert-edge convert`), head 0's scores out. bert-edge files put their softmax `probabilities`
 * output first, so the scores are probabilities. No UI code here.
 */
final class MediaPipeTextBackend implements TextBackend {
    private final TextClassifier classifier;
    private final int numLabels;

    private MediaPipeTextBackend(TextClassifier classifier, int numLabels) {
        this.classifier = classifier;
        this.numLabels = numLabels;
    }

    /** Loads {@code assetFile} (an uncompressed APK asset) with every label in the result. */
    static MediaPipeTextBackend open(Context context, String assetFile, int numLabels) {
        BaseOptions base = BaseOptions.builder().setModelAssetPath(assetFile).build();
        TextClassifier.TextClassifierOptions options = TextClassifier.TextClassifierOptions.builder()
                .setBaseOptions(base)
                .setMaxResults(numLabels) // all labels, not only the top one
                .build();
        return new MediaPipeTextBackend(TextClassifier.createFromOptions(context, options), numLabels);
    }

    @Override
    public String id() {
        return BackendId.MEDIAPIPE;
    }

    @Override
    public float[] scores(String text) {
        TextClassifierResult r = classifier.classify(text);
        Classifications head = r.classificationResult().classifications().get(0);
        float[] out = new float[numLabels];
        Arrays.fill(out, Float.NaN);
        for (Category c : head.categories()) {
            if (c.index() >= 0 && c.index() < numLabels) {
                out[c.index()] = c.score();
            }
        }
        return out;
    }

    @Override
    public void close() {
        classifier.close();
    }
}
