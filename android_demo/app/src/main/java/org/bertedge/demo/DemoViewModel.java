package org.bertedge.demo;

import android.app.Application;

import androidx.annotation.NonNull;
import androidx.lifecycle.AndroidViewModel;
import androidx.lifecycle.LiveData;
import androidx.lifecycle.MutableLiveData;

import org.bertedge.core.Backend;
import org.bertedge.core.BackendId;
import org.bertedge.core.BundleException;
import org.bertedge.core.LatencyStats;
import org.bertedge.core.Manifest;
import org.bertedge.core.Prediction;
import org.bertedge.core.TextBackend;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * State shared by the three screens. All model work runs on one background thread, so a
 * backend is only ever used from that thread; results come back through LiveData.
 */
public final class DemoViewModel extends AndroidViewModel {
    private final ModelRepository repo;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "bert-edge-inference");
        t.setPriority(Thread.NORM_PRIORITY);
        return t;
    });

    private final MutableLiveData<Outcome<ModelRepository.LoadedBundle>> bundle = new MutableLiveData<>();
    private final MutableLiveData<String> busy = new MutableLiveData<>(null);
    private final MutableLiveData<Outcome<Prediction>> prediction = new MutableLiveData<>();
    private final MutableLiveData<Outcome<LatencyReport>> latency = new MutableLiveData<>();
    private final MutableLiveData<Outcome<SelfTestReport>> selfTest = new MutableLiveData<>();
    private final MutableLiveData<List<ModelRepository.ModelStatus>> modelStatus = new MutableLiveData<>();

    // touched only on the worker thread
    private Backend current;
    private String currentKey;
    private TextBackend currentText; // MediaPipe (raw text in); one model in memory at a time

    // UI selections (main thread)
    private String backend;
    private int threads = Math.min(4, Runtime.getRuntime().availableProcessors());

    public DemoViewModel(@NonNull Application app) {
        super(app);
        repo = new ModelRepository(app);
        busy.setValue(app.getString(R.string.busy_loading_bundle));
        worker.execute(() -> {
            try {
                ModelRepository.LoadedBundle b = repo.load();
                bundle.postValue(Outcome.ok(b));
            } catch (BundleException e) {
                bundle.postValue(Outcome.<ModelRepository.LoadedBundle>fail(e));
            } catch (RuntimeException e) {
                bundle.postValue(Outcome.<ModelRepository.LoadedBundle>fail("unexpected error reading the bundle: " + e));
            }
            busy.postValue(null);
        });
    }

    LiveData<Outcome<ModelRepository.LoadedBundle>> bundle() {
        return bundle;
    }

    LiveData<String> busy() {
        return busy;
    }

    LiveData<Outcome<Prediction>> prediction() {
        return prediction;
    }

    LiveData<Outcome<LatencyReport>> latency() {
        return latency;
    }

    LiveData<Outcome<SelfTestReport>> selfTest() {
        return selfTest;
    }

    LiveData<List<ModelRepository.ModelStatus>> modelStatus() {
        return modelStatus;
    }

    String backend() {
        return backend;
    }

    void setBackend(String backend) {
        this.backend = backend;
    }

    int threads() {
        return threads;
    }

    void setThreads(int threads) {
        this.threads = Math.max(1, threads);
    }

    private ModelRepository.LoadedBundle loaded() {
        Outcome<ModelRepository.LoadedBundle> b = bundle.getValue();
        return b == null ? null : b.value;
    }

    /** Runs on the worker: the open backend for (id, threads), reopening on change. */
    private Backend backendFor(ModelRepository.LoadedBundle b, String id, int n) throws BundleException {
        String key = id + "@" + n;
        if (current != null && key.equals(currentKey)) {
            return current;
        }
        closeCurrent();
        current = repo.open(b, id, n);
        currentKey = key;
        return current;
    }

    /** Runs on the worker: the open MediaPipe TextClassifier. */
    private TextBackend textBackendFor(ModelRepository.LoadedBundle b) throws BundleException {
        if (currentText != null) {
            return currentText;
        }
        closeCurrent();
        currentText = repo.openMediaPipe(b);
        return currentText;
    }

    private void closeCurrent() {
        if (currentText != null) {
            currentText.close();
            currentText = null;
        }
        if (current != null) {
            current.close();
            current = null;
            currentKey = null;
        }
    }

    void classify(String text) {
        ModelRepository.LoadedBundle b = loaded();
        if (b == null) {
            return;
        }
        final String id = backend != null ? backend : b.manifest.defaultBackend;
        final int n = threads;
        busy.setValue(getApplication().getString(R.string.busy_classifying));
        worker.execute(() -> {
            try {
                if (BackendId.MEDIAPIPE.equals(id)) {
                    prediction.postValue(Outcome.ok(b.classifier.classify(textBackendFor(b), text)));
                } else {
                    Backend be = backendFor(b, id, n);
                    // the first call after loading is the cold run: report it as such
                    prediction.postValue(Outcome.ok(b.classifier.classify(be, text)));
                }
            } catch (Throwable t) {
                closeCurrent();
                prediction.postValue(Outcome.<Prediction>fail(t));
            }
            busy.postValue(null);
        });
    }

    void benchmark(String text, int runs) {
        ModelRepository.LoadedBundle b = loaded();
        if (b == null) {
            return;
        }
        final String id = backend != null ? backend : b.manifest.defaultBackend;
        final int n = threads;
        busy.setValue(getApplication().getString(R.string.busy_benchmark, runs));
        worker.execute(() -> {
            try {
                // a fresh load, so "first run" really is the first inference of the model
                closeCurrent();
                LatencyStats stats = BackendId.MEDIAPIPE.equals(id)
                        ? b.classifier.benchmark(textBackendFor(b), text, runs) // MediaPipe: its own threads
                        : b.classifier.benchmark(backendFor(b, id, n), text, runs);
                latency.postValue(Outcome.ok(new LatencyReport(id, n, stats)));
            } catch (Throwable t) {
                closeCurrent();
                latency.postValue(Outcome.<LatencyReport>fail(t));
            }
            busy.postValue(null);
        });
    }

    void runSelfTest() {
        ModelRepository.LoadedBundle b = loaded();
        if (b == null) {
            return;
        }
        final int n = threads;
        busy.setValue(getApplication().getString(R.string.busy_self_test, b.golden.size()));
        worker.execute(() -> {
            closeCurrent(); // one model in memory at a time
            try {
                selfTest.postValue(Outcome.ok(SelfTestRunner.run(repo, b, n)));
            } catch (Throwable t) {
                selfTest.postValue(Outcome.<SelfTestReport>fail(t));
            }
            busy.postValue(null);
        });
    }

    /** @param recompute hash the files again instead of showing the cached result */
    void verifyModels(boolean recompute) {
        ModelRepository.LoadedBundle b = loaded();
        if (b == null) {
            return;
        }
        busy.setValue(getApplication().getString(R.string.busy_verifying));
        worker.execute(() -> {
            if (recompute) {
                repo.forgetVerification();
            }
            List<ModelRepository.ModelStatus> out = new ArrayList<>();
            for (Manifest.ModelEntry e : b.manifest.models) {
                out.add(repo.verify(e));
            }
            modelStatus.postValue(out);
            busy.postValue(null);
        });
    }

    @Override
    protected void onCleared() {
        worker.execute(this::closeCurrent);
        worker.shutdown();
    }
}
