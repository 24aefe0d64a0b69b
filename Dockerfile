# The image every Airflow service of docker-compose.yml runs: Airflow 3 with this project's pinned
# requirements (requirements.lock), DAGs, plugins (the news_etl library and the warehouse page),
# SQL migrations and the embedded sample posts.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.lock /opt/news-etl/requirements.lock
RUN pip install --no-cache-dir -r /opt/news-etl/requirements.lock

# The checkout's layout: the library finds sql/ and data/ beside plugins/ (and the installed
# package carries sql/ too, for the news-etl console script).
COPY --chown=airflow:0 pyproject.toml README.md /opt/news-etl/
COPY --chown=airflow:0 dags/ /opt/news-etl/dags/
COPY --chown=airflow:0 plugins/ /opt/news-etl/plugins/
COPY --chown=airflow:0 sql/ /opt/news-etl/sql/
COPY --chown=airflow:0 data/sample_posts/ /opt/news-etl/data/sample_posts/
COPY --chown=airflow:0 deploy/ /opt/news-etl/deploy/
RUN pip install --no-cache-dir --no-deps -e /opt/news-etl

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/news-etl/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/news-etl/plugins
